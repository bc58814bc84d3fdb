"""``upload/``: the files devices uploaded when asked (read by members; ``upload/<id>/file/`` downloads one), and
the device's own side of Kanto's AutoUploadable over HTTP with its token: ``upload/request/`` answers the ``start``
with the upload URL, ``upload/status/`` records a status report. An upload is asked for with an ``upload``
operation (``POST operation/`` ``{device, kind: "upload"}``), or periodically by an ``uploadschedule/``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedViewSetMixin
from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.core.inputs import parse_id, parse_uuid
from server.apps.device.models import Device
from server.apps.device.selectors import visible_device
from server.apps.deviceauth.tokens import DeviceScope
from server.apps.deviceupload import selectors, services
from server.apps.deviceupload.api import serializers
from server.apps.deviceupload.filtersets import DeviceUploadFilterSet, UploadScheduleFilterSet
from server.apps.deviceupload.models import UPLOAD_STORE, DeviceUpload, UploadSchedule
from server.apps.deviceupload.wire import upload_request_from, upload_status_from
from server.apps.fleet.selectors import visible_fleet
from server.apps.operation.models import Transport
from server.apps.operation.wire import MessageError
from server.apps.stores.selectors import store_file_url

FILE_URL_SECONDS = 3600


def _device_scope(request) -> DeviceScope:
    if not isinstance(request.auth, DeviceScope):
        raise PermissionDenied("Only a device's own token (Authorization: a-jwt …) asks to upload and reports.")
    return request.auth


def _device_message(request, serializer_class, parse) -> tuple[DeviceScope, Any]:
    """The calling device's scope and its message: the body checked by ``serializer_class``, then read by ``parse``
    (a message the wire refuses is a 400)."""
    scope = _device_scope(request)
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        return scope, parse(dict(body.validated_data))
    except MessageError as exc:
        raise ApplicationError(str(exc)) from exc


class DeviceUploadViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = DeviceUpload.objects.all()
    serializer_class = serializers.DeviceUploadSerializer
    filterset_class = DeviceUploadFilterSet
    lookup_field = "id"
    # request/ and status/ are the device's own; a device token reaches no upload through the reads.
    accepts_device_tokens = True

    def get_queryset(self):
        return selectors.upload_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_uuid(value)}

    @extend_schema(responses=serializers.UploadFileSerializer)
    @action(detail=True, methods=["get"], scope_action="view", filterset_class=None)
    def file(self, request, id=None):
        """``{url}``: the uploaded file, downloadable without credentials for an hour (404 until it arrived)."""
        upload = self.get_object()
        if upload.size is None:
            raise NotFoundError("The file has not been uploaded.")
        url = store_file_url(store=UPLOAD_STORE, key=upload.key, expires=FILE_URL_SECONDS)
        return Response({"url": request.build_absolute_uri(url)})

    @extend_schema(
        request=serializers.UploadRequestSerializer,
        responses={200: serializers.UploadStartSerializer},
        description="The calling device asks to upload one file (device token only): answers Kanto's start.",
    )
    @action(detail=False, methods=["post"], url_path="request", scope_action="view", filterset_class=None)
    def upload_request(self, request):
        scope, parsed = _device_message(request, serializers.UploadRequestSerializer, upload_request_from)
        device = Device.objects.get(pk=scope.device_id)
        (upload,) = services.upload_requests_record(
            requests=[(device.pk, device.org_id, parsed)],
            transport=Transport.HTTP,
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
        if upload is None:
            raise NotFoundError("No upload was asked of this device with that correlationId.")
        return Response(services.start_message(upload))

    @extend_schema(
        request=serializers.UploadStatusSerializer,
        responses={200: serializers.UploadStatusOutcomeSerializer},
        description="The calling device's status report on one upload (device token only).",
    )
    @action(detail=False, methods=["post"], url_path="status", scope_action="view", filterset_class=None)
    def upload_status(self, request):
        scope, parsed = _device_message(request, serializers.UploadStatusSerializer, upload_status_from)
        (outcome,) = services.upload_statuses_record(statuses=[(scope.device_id, parsed)], transport=Transport.HTTP)
        return Response({"outcome": outcome.outcome, "status": outcome.operation.status if outcome.operation else None})


@write_schemas(
    create=serializers.UploadScheduleCreateSerializer,
    update=serializers.UploadScheduleUpdateSerializer,
    response=serializers.UploadScheduleSerializer,
)
class UploadScheduleViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Periodic upload requests: a device (or each member of a fleet) is asked for its files every ``every_hours``
    (optionally only those ``files`` matches), by the worker; each request carries the window since the previous."""

    queryset = UploadSchedule.objects.all()
    serializer_class = serializers.UploadScheduleSerializer
    filterset_class = UploadScheduleFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.upload_schedule_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_id(value)}

    def create(self, request, *args, **kwargs):
        data = serializers.UploadScheduleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "device" in fields:
            fields["device"] = visible_device(user=request.user, value=fields["device"])
        else:
            fields["fleet"] = visible_fleet(user=request.user, value=fields["fleet"])
        schedule = services.upload_schedule_create(user=request.user, **fields)
        return Response(serializers.UploadScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        schedule = self.get_object()
        data = serializers.UploadScheduleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = services.upload_schedule_update(user=request.user, schedule=schedule, **data.validated_data)
        return Response(serializers.UploadScheduleSerializer(schedule).data)

    def perform_destroy(self, instance):
        services.upload_schedule_delete(user=self.request.user, schedule=instance)
