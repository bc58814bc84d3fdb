"""Telemetry's API (docs/telemetry.md): the device's ``<token>/telemetry``, The Things Stack's ``ttn/<id>/up/``,
and the organisation's ``rawmessage/``, ``pd/``, ``ld/``, ``map/`` and ``integration/``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedModelViewSet, ScopedReadOnlyViewSet
from server.apps.core.errors import ApplicationError
from server.apps.core.inputs import parse_id, parse_uuid
from server.apps.core.lookups import device_id_from, project_lookup
from server.apps.core.slugs import SlugError, device_slug
from server.apps.device.models import Device
from server.apps.deviceauth.tokens import DeviceScope
from server.apps.project.models import Project
from server.apps.telemetry import selectors
from server.apps.telemetry.api import serializers
from server.apps.telemetry.authentication import UrlDeviceTokenAuthentication
from server.apps.telemetry.filtersets import (
    DeviceMappingFilterSet,
    LogicalDeviceFilterSet,
    PhysicalDeviceFilterSet,
    RawMessageFilterSet,
)
from server.apps.telemetry.models import (
    DeviceMapping,
    LogicalDevice,
    PhysicalDevice,
    RawMessage,
    RawMessageSource,
    RawMessageStatus,
    TtnIntegration,
)
from server.apps.telemetry.services import mapping as mapping_services
from server.apps.telemetry.services.ingest import DeviceRef, Inbound, telemetry_messages_ingest
from server.apps.telemetry.services.integrations import (
    integration_authenticate,
    integration_create,
    integration_delete,
    ttn_uplink_receive,
)
from server.apps.telemetry.wire import telemetry_read

MESSAGE_ID_HEADER = "HTTP_X_MESSAGE_ID"
SECRET_HEADER = "HTTP_X_INTEGRATION_SECRET"


def _visible_project(user: Any, value: str) -> Project:
    try:
        project = Project.objects.restrict(user, "view").filter(**project_lookup(value)).first()
    except (SlugError, ValueError) as exc:
        raise ApplicationError(str(exc), {"project": [str(exc)]}) from exc
    if project is None:
        raise ApplicationError(f"Unknown project {value}.", {"project": [f"Unknown: {value}."]})
    return project


# Devices' own endpoints ----------------------------------------------------------------------------------------------


class TelemetryView(APIView):
    """ThingsBoard's ``POST /api/v1/<token>/telemetry``: the device token (``a-jwt``) is in the path."""

    authentication_classes = [UrlDeviceTokenAuthentication]
    parser_classes: list[Any] = []
    accepts_device_tokens = True

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        # The device token in the path is the credential.
        auth=[],
        parameters=[
            OpenApiParameter("token", str, OpenApiParameter.PATH, description="The device's a-jwt token."),
            OpenApiParameter("X-Message-Id", str, OpenApiParameter.HEADER, description="Idempotent delivery id."),
        ],
        responses={
            200: serializers.TelemetryAnswerSerializer,
            400: OpenApiResponse(description="A bad body or a time over an hour ahead (kept raw as refused)."),
            401: OpenApiResponse(description="A bad or revoked device token."),
        },
    )
    def post(self, request: Request, token: str) -> Response:
        scope: DeviceScope = request.auth  # type: ignore[assignment]
        # Any: a device token's account carries token_permitted (deviceauth.tokens.device_token_decode).
        user: Any = request.user
        if not (user.is_staff or user.token_permitted):
            raise PermissionDenied("The token's user may not add data in this organisation.")
        message_id = request.META.get(MESSAGE_ID_HEADER) or None
        if message_id is not None and not 0 < len(message_id) <= 100:
            raise ApplicationError("X-Message-Id is 1 to 100 characters.")
        inbound = Inbound(
            source=RawMessageSource.HTTP,
            device=DeviceRef(scope.device_id, device_slug(scope.device_id), scope.org_id, scope.project_id),
            org_id=scope.org_id,
            body=request.body,
            received_at=timezone.now(),
            read=telemetry_read,
            message_id=message_id,
        )
        (outcome,) = telemetry_messages_ingest(inbounds=[inbound])
        answer = {
            "correlation_id": str(outcome.correlation_id),
            "status": outcome.status,
            "stored": outcome.stored,
            "duplicate": outcome.duplicate,
        }
        if outcome.status == RawMessageStatus.REFUSED and not outcome.duplicate:
            return Response({"detail": outcome.error, **answer}, status=status.HTTP_400_BAD_REQUEST)
        return Response(answer)


class TtnUplinkView(APIView):
    """The Things Stack's uplink webhook for one integration; ``X-Integration-Secret`` authenticates it."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("X-Integration-Secret", str, OpenApiParameter.HEADER, required=True)],
        responses={204: None, 401: OpenApiResponse(description="A wrong or missing secret.")},
    )
    def post(self, request: Request, integration: str) -> Response:
        try:
            found = integration_authenticate(
                integration_id=parse_uuid(integration), secret=request.META.get(SECRET_HEADER, "")
            )
        except ValueError:
            found = None
        if found is None:
            raise NotAuthenticated("Unknown integration or wrong secret.")
        ttn_uplink_receive(integration=found, body=request.body, received_at=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


# The organisation's resources ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(description="Raw messages, newest first; filter by device and received time."),
)
class RawMessageViewSet(ScopedReadOnlyViewSet):
    """The raw message log, by correlation id."""

    queryset = RawMessage.objects.all()
    serializer_class = serializers.RawMessageSerializer
    filterset_class = RawMessageFilterSet
    lookup_field = "correlation_id"

    def get_queryset(self) -> QuerySet[RawMessage]:
        return selectors.raw_message_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"correlation_id": parse_uuid(value)}


@write_schemas(
    create=serializers.PhysicalDeviceCreateSerializer,
    update=serializers.PhysicalDeviceUpdateSerializer,
    response=serializers.PhysicalDeviceSerializer,
)
class PhysicalDeviceViewSet(ScopedModelViewSet):
    """Physical devices (IoTa's ``pd``): devices with a telemetry identity, by the device's integer id."""

    queryset = PhysicalDevice.objects.all()
    serializer_class = serializers.PhysicalDeviceSerializer
    filterset_class = PhysicalDeviceFilterSet
    lookup_field = "uid"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[PhysicalDevice]:
        return selectors.physical_device_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"device_id": parse_id(value)}

    def _answer(self, physical: PhysicalDevice, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=physical.pk)
        return Response(serializers.PhysicalDeviceSerializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = serializers.PhysicalDeviceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        project = _visible_project(request.user, fields.pop("project")) if fields.get("project") else None
        device = None
        if fields.get("device"):
            value = fields.pop("device")
            try:
                device_id = device_id_from(value)
            except SlugError as exc:
                raise ApplicationError(str(exc), {"device": [str(exc)]}) from exc
            device = Device.objects.restrict(request.user, "view").filter(pk=device_id, org__isnull=False).first()
            if device is None:
                raise ApplicationError(f"Unknown device {value}.", {"device": [f"Unknown: {value}."]})
        physical = mapping_services.physical_device_create(user=request.user, project=project, device=device, **fields)
        return self._answer(physical, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        physical = self.get_object()
        data = serializers.PhysicalDeviceUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        physical = mapping_services.physical_device_update(user=request.user, physical=physical, **data.validated_data)
        return self._answer(physical)

    def perform_destroy(self, instance: PhysicalDevice) -> None:
        mapping_services.physical_device_delete(user=self.request.user, physical=instance)


@write_schemas(
    create=serializers.LogicalDeviceCreateSerializer,
    update=serializers.LogicalDeviceUpdateSerializer,
    response=serializers.LogicalDeviceSerializer,
    from_pd=extend_schema(
        request=serializers.LogicalFromPhysicalSerializer, responses={201: serializers.LogicalDeviceSerializer}
    ),
)
class LogicalDeviceViewSet(ScopedModelViewSet):
    """Logical devices (IoTa's ``ld``): destinations whose series (stream aliases) outlive their sensors."""

    queryset = LogicalDevice.objects.all()
    serializer_class = serializers.LogicalDeviceSerializer
    filterset_class = LogicalDeviceFilterSet
    lookup_field = "uid"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[LogicalDevice]:
        return selectors.logical_device_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"id": parse_id(value)}

    def _answer(self, logical: LogicalDevice, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=logical.pk)
        return Response(serializers.LogicalDeviceSerializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = serializers.LogicalDeviceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        project = _visible_project(request.user, fields.pop("project"))
        logical = mapping_services.logical_device_create(user=request.user, project=project, **fields)
        return self._answer(logical, status.HTTP_201_CREATED)

    @action(detail=False, methods=["post"], url_path="from-pd")
    def from_pd(self, request: Request) -> Response:
        data = serializers.LogicalFromPhysicalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        physical = selectors.visible_physical_device(user=request.user, value=data.validated_data["pd"])
        logical = mapping_services.logical_device_from_physical(
            user=request.user, physical=physical, map=data.validated_data["map"]
        )
        return self._answer(logical, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        logical = self.get_object()
        data = serializers.LogicalDeviceUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        logical = mapping_services.logical_device_update(user=request.user, logical=logical, **data.validated_data)
        return self._answer(logical)

    def perform_destroy(self, instance: LogicalDevice) -> None:
        mapping_services.logical_device_delete(user=self.request.user, logical=instance)


def _one_side(user: Any, data: dict[str, Any]) -> dict[str, Any]:
    if "pd" in data:
        return {"physical": selectors.visible_physical_device(user=user, value=data["pd"])}
    return {"logical": selectors.visible_logical_device(user=user, value=data["ld"])}


@write_schemas(
    create=serializers.MappingStartSerializer,
    response=serializers.MappingSerializer,
    end=extend_schema(request=serializers.MappingEndSerializer, responses=serializers.MappingSerializer),
    toggle=extend_schema(request=serializers.MappingToggleSerializer, responses=serializers.MappingSerializer),
)
class MappingViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Physical → logical mappings (IoTa's ``map``), newest first; never deleted: they are the history."""

    queryset = DeviceMapping.objects.all()
    serializer_class = serializers.MappingSerializer
    filterset_class = DeviceMappingFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[DeviceMapping]:
        return selectors.mapping_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"id": parse_id(value)}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = serializers.MappingStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mapping = mapping_services.mapping_start(
            user=request.user,
            physical=selectors.visible_physical_device(user=request.user, value=data.validated_data["pd"]),
            logical=selectors.visible_logical_device(user=request.user, value=data.validated_data["ld"]),
            start=data.validated_data.get("start"),
        )
        return Response(serializers.MappingSerializer(mapping).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["post"])
    def end(self, request: Request) -> Response:
        data = serializers.MappingEndSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mapping = mapping_services.mapping_end(
            user=request.user, end=data.validated_data.get("end"), **_one_side(request.user, data.validated_data)
        )
        return Response(serializers.MappingSerializer(mapping).data)

    @action(detail=False, methods=["post"])
    def toggle(self, request: Request) -> Response:
        data = serializers.MappingToggleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mapping = mapping_services.mapping_toggle(
            user=request.user,
            is_active=data.validated_data["is_active"],
            **_one_side(request.user, data.validated_data),
        )
        return Response(serializers.MappingSerializer(mapping).data)


@write_schemas(create=serializers.TtnIntegrationCreateSerializer, response=serializers.TtnIntegrationSerializer)
class TtnIntegrationViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, ScopedReadOnlyViewSet):
    """The Things Stack integrations: each is a webhook into one project, with its own secret."""

    queryset = TtnIntegration.objects.all()
    serializer_class = serializers.TtnIntegrationSerializer
    lookup_field = "id"

    def get_queryset(self) -> QuerySet[TtnIntegration]:
        return selectors.integration_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"id": parse_uuid(value)}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = serializers.TtnIntegrationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = _visible_project(request.user, data.validated_data["project"])
        integration = integration_create(user=request.user, project=project, name=data.validated_data["name"])
        return Response(serializers.TtnIntegrationSerializer(integration).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: TtnIntegration) -> None:
        integration_delete(user=self.request.user, integration=instance)
