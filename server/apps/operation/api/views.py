"""Operation endpoints.

For users: ``operation/`` (list, filters, create for a device or every device of a project), ``operation/<id>/``
and ``operation/<id>/cancel/``. For devices, with their own token (``Authorization: a-jwt …``):
``operation/poll/`` hands over the device's pending HTTP operations, ``operation/reply/`` records its replies.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from server.apps.core.api.viewsets import ScopedViewSetMixin
from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.core.inputs import parse_uuid
from server.apps.core.lookups import device_id_from, project_lookup
from server.apps.core.slugs import SlugError
from server.apps.device.models import Device
from server.apps.deviceauth.tokens import DeviceScope
from server.apps.fleet.models import Fleet
from server.apps.fleet.selectors import fleet_lookup
from server.apps.operation.api import serializers
from server.apps.operation.filtersets import OperationFilterSet
from server.apps.operation.models import DeviceOperation, Transport
from server.apps.operation.services import credentials, inbound, operations
from server.apps.operation.wire import MessageError, feedback_reply, reply_from_dict, request_message
from server.apps.project.models import Project

# Replies one POST may carry.
MAX_REPLIES_PER_POST = 100


def _device_scope(request: Request) -> DeviceScope:
    if not isinstance(request.auth, DeviceScope):
        raise PermissionDenied("Only a device's own token (Authorization: a-jwt …) polls and answers operations.")
    return request.auth


@extend_schema_view(
    create=extend_schema(
        request=serializers.OperationCreateSerializer,
        responses={
            201: OpenApiResponse(
                serializers.OperationSerializer,
                description="For a project: {count, batch, results}, one operation per device.",
            )
        },
        description="Queue an operation (a command, a configuration …) for a device or every device of a project.",
    ),
)
class OperationViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Operations sent to devices: read by any member, queued and canceled with ``can_modify_device``."""

    queryset = DeviceOperation.objects.select_related("device", "created_by")
    serializer_class = serializers.OperationSerializer
    filterset_class = OperationFilterSet
    lookup_field = "id"
    # poll/ and reply/ are the device's own; every other action refuses a device token (its scope reaches no
    # operation, so reads find nothing and writes are refused).
    accepts_device_tokens = True

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"id": parse_uuid(value)}

    def _devices(self, data: dict) -> list[Device]:
        devices = Device.objects.restrict(self.request.user, "view").select_related("presence")
        try:
            if "device" in data:
                found = list(devices.filter(id=device_id_from(data["device"])))
                if not found:
                    raise NotFoundError(f"No device {data['device']}.", {"device": ["Not found."]})
                return found
            if "fleet" in data:
                fleets = Fleet.objects.restrict(self.request.user, "view").filter(**fleet_lookup(data["fleet"]))
                fleet = fleets.first()
                if fleet is None:
                    raise NotFoundError(f"No fleet {data['fleet']}.", {"fleet": ["Not found."]})
                return list(devices.filter(fleets=fleet).order_by("id"))
            projects = Project.objects.restrict(self.request.user, "view").filter(**project_lookup(data["project"]))
            project = projects.first()
        except (SlugError, ValueError) as exc:
            field = next(name for name in ("device", "fleet", "project") if name in data)
            raise ApplicationError(str(exc), {field: [str(exc)]}) from exc
        if project is None:
            raise NotFoundError(f"No project {data['project']}.", {"project": ["Not found."]})
        return list(devices.filter(project=project).order_by("id"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.OperationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        operation_request = operations.operation_request_clean(
            kind=data["kind"],
            payload=data.get("payload"),
            name=data.get("name"),
            transport=data.get("transport"),
            deadline_seconds=data.get("deadline_seconds"),
            heartbeat_seconds=data.get("heartbeat_seconds"),
        )
        created = operations.operations_create(
            user=request.user, devices=self._devices(data), request=operation_request
        )
        if "device" in data:
            return Response(self.get_serializer(created[0]).data, status=status.HTTP_201_CREATED)
        answer = {"count": len(created), "batch": created[0].batch, "results": created}
        return Response(serializers.OperationBatchSerializer(answer).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: serializers.OperationSerializer})
    @action(detail=True, methods=["post"], scope_action="change")
    def cancel(self, request: Request, id: str | None = None) -> Response:
        operation = operations.operation_cancel(user=request.user, operation=self.get_object())
        return Response(self.get_serializer(operation).data)

    @extend_schema(
        request=serializers.MqttLoginRequestSerializer,
        responses={200: serializers.MqttLoginSerializer},
        description=(
            "The device's MQTT login (made on first use, a new password with rotate), provisioned on the broker "
            "with access to devices/<slug>/# only. Needs can_modify_device."
        ),
    )
    @action(detail=False, methods=["post"], url_path="mqtt-login", scope_action="view", filterset_class=None)
    def mqtt_login(self, request: Request) -> Response:
        if isinstance(request.auth, DeviceScope):
            raise PermissionDenied("A device token cannot manage logins.")
        body = serializers.MqttLoginRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        device = self._devices({"device": body.validated_data["device"]})[0]
        passwords = credentials.device_mqtt_logins_provision(
            devices=[device], user=request.user, rotate=body.validated_data["rotate"]
        )
        answer = {
            "username": device.slug,
            "password": passwords[device.slug],
            "broker": settings.MQTT_DEVICE_BROKER,
            "topics": f"devices/{device.slug}/#",
        }
        return Response(serializers.MqttLoginSerializer(answer).data)

    @extend_schema(
        responses={200: serializers.DeviceRequestSerializer(many=True)},
        description="The calling device's pending HTTP operations, oldest first, now SENT (device token only).",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def poll(self, request: Request) -> Response:
        scope = _device_scope(request)
        device = Device.objects.get(pk=scope.device_id)
        handed = inbound.device_poll(device=device)
        return Response([request_message(operation) for operation in handed])

    @extend_schema(
        request=serializers.DeviceReplySerializer,
        responses={200: serializers.DeviceReplyOutcomeSerializer(many=True)},
        description=(
            "Replies of the calling device (one object or a list), each a reply or a Kanto desired-state feedback "
            "({activityId, timestamp, payload}). Each answers recorded, progress, duplicate (already closed: "
            "nothing changed) or unknown (no such operation of this device: nothing changed)."
        ),
    )
    @action(detail=False, methods=["post"], scope_action="view", filterset_class=None)
    def reply(self, request: Request) -> Response:
        scope = _device_scope(request)
        items = request.data if isinstance(request.data, list) else [request.data]
        if len(items) > MAX_REPLIES_PER_POST:
            raise ApplicationError(f"At most {MAX_REPLIES_PER_POST} replies per request.")
        # A Kanto update manager's feedback ({activityId, timestamp, payload}) is read as the reply it is.
        kanto = [isinstance(item, dict) and "activityId" in item and "operationId" not in item for item in items]
        body = serializers.DeviceReplySerializer(
            data=[i for i, k in zip(items, kanto, strict=True) if not k], many=True
        )
        body.is_valid(raise_exception=True)
        generic = iter(body.validated_data)
        try:
            replies = [
                feedback_reply(item) if k else reply_from_dict(next(generic))
                for item, k in zip(items, kanto, strict=True)
            ]
        except MessageError as exc:
            raise ApplicationError(str(exc)) from exc
        outcomes = inbound.device_replies(device_id=scope.device_id, replies=replies, transport=Transport.HTTP)
        return Response(
            [
                {
                    "operationId": reply.raw_id,
                    "outcome": outcome.outcome,
                    "status": outcome.operation.status if outcome.operation else None,
                }
                for reply, outcome in zip(replies, outcomes, strict=True)
            ]
        )
