"""Streamer endpoints: streamers (read-only; the clients read their acknowledged ``last_id``) and streamer reports
(list, detail, upload)."""

from __future__ import annotations

import datetime

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from server.apps.core.api.parsers import MultiPartParser
from server.apps.core.api.viewsets import ScopedReadOnlyViewSet, ScopedViewSetMixin
from server.apps.core.inputs import InputError, parse_uuid, utc_datetime
from server.apps.streamer import selectors
from server.apps.streamer.api import serializers
from server.apps.streamer.filtersets import StreamerFilterSet, StreamerReportFilterSet
from server.apps.streamer.models import Streamer, StreamerReport
from server.apps.streamer.services.upload import streamer_report_upload

TIMESTAMP_PARAMETER = OpenApiParameter(
    "timestamp",
    OpenApiTypes.DATETIME,
    required=True,
    description="When the uploader received the report from the device, ISO 8601; without an offset it is UTC.",
)


def _received_time(text: str | None) -> datetime.datetime:
    """``?timestamp=`` as a datetime (naive: the service reads it as UTC). An unencoded ``+hh:mm`` offset arrives
    with its ``+`` turned into a space by the query string's encoding, so it is put back."""
    if not text or not text.strip():
        raise ValidationError({"timestamp": ["?timestamp= is required: when the report was received (ISO 8601)."]})
    value = text.strip()
    date, separator, time = value.partition("T")
    if separator and " " in time:
        value = f"{date}T{time.replace(' ', '+', 1)}"
    try:
        received_time = parse_datetime(value)
    except ValueError:
        received_time = None
    if received_time is None:
        raise ValidationError({"timestamp": [f"'{text}' is not an ISO 8601 date and time."]})
    try:
        return utc_datetime(received_time)
    except InputError as exc:
        raise ValidationError({"timestamp": [str(exc)]}) from exc


# One answer serializer per process: a ModelSerializer builds its fields from the model for each new instance, which
# cost more than the rest of the answer (about 3.5 ms an upload); its representation keeps no state between reports.
_UPLOAD_RESULT = serializers.StreamerReportUploadResultSerializer()


class StreamerViewSet(ScopedReadOnlyViewSet):
    """A device's streamers, named ``t--<device>--<index>``, with the highest reading id stored from each
    (``last_id``): uploaders tell the device to drop what is acknowledged."""

    queryset = Streamer.objects.all()
    serializer_class = serializers.StreamerSerializer
    filterset_class = StreamerFilterSet

    def get_queryset(self):
        return selectors.streamer_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return selectors.streamer_lookup(value)


class StreamerReportViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Uploaded streamer reports (newest first) with their processing status; POST uploads one."""

    queryset = StreamerReport.objects.all()
    serializer_class = serializers.StreamerReportSerializer
    filterset_class = StreamerReportFilterSet
    parser_classes = [MultiPartParser]
    lookup_field = "id"
    lookup_value_regex = r"[0-9a-fA-F-]+"

    def get_queryset(self):
        return selectors.streamer_report_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"pk": parse_uuid(value)}

    @extend_schema(
        request={"multipart/form-data": serializers.StreamerReportUploadSerializer},
        parameters=[TIMESTAMP_PARAMETER],
        responses={
            201: OpenApiResponse(
                serializers.StreamerReportUploadResultSerializer,
                description="Stored and queued. `count`: the readings and events new to the streamer.",
            )
        },
    )
    def create(self, request, *args, **kwargs):
        upload = serializers.StreamerReportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        received_time = _received_time(request.query_params.get("timestamp"))
        file = upload.validated_data["file"]
        report = streamer_report_upload(
            user=request.user, file_name=file.name, content=file.read(), received_time=received_time
        )
        return Response(_UPLOAD_RESULT.to_representation(report), status=status.HTTP_201_CREATED)
