"""Stream data endpoints: ``data/`` (read by ``?filter=``, write one reading or a list), ``df/`` (the same rows as
one CSV table, read by iotile-analytics) and the shared list helper behind ``stream/<s>/data/``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from server.apps.core.api.pagination import ShortFirstPagePagination
from server.apps.core.api.renderers import FAST_RENDERERS
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_list
from server.apps.streamdata import services
from server.apps.streamdata.api.serializers import (
    WIRE_COLUMNS,
    StreamDataCountSerializer,
    StreamDataPointSerializer,
    StreamDataSerializer,
    iso_utc,
    stream_data_json,
    with_json_head,
)
from server.apps.streamdata.filtersets import StreamDataFilterSet
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.selectors.data_filter import stream_data_for_filter
from server.apps.streamdata.selectors.rows import stream_data_for_series

MAX_POINTS_PER_POST = 10_000

FILTER_PARAMETER = OpenApiParameter(
    "filter",
    OpenApiTypes.STR,
    required=True,
    description=(
        "A stream (s--), device (d--: its streams), variable (v--: its streams across devices), data block (b--: its"
        " archived streams) or stream alias (a--: each tap's stream from the tap's time to the next tap's) slug."
    ),
)
MASK_PARAMETER = OpenApiParameter("mask", OpenApiTypes.BOOL, required=False, description="Accepted; no masks yet.")
# The StreamDataFilterSet parameters, for endpoints whose own model is not StreamData (stream/<s>/data/).
DATA_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATETIME, required=False, description="ISO; readings at or after it."),
    OpenApiParameter("end", OpenApiTypes.DATETIME, required=False, description="ISO; readings before it."),
    OpenApiParameter("streamer_id_0", OpenApiTypes.INT, required=False, description="Lowest streamer id."),
    OpenApiParameter("streamer_id_1", OpenApiTypes.INT, required=False, description="Highest streamer id."),
    OpenApiParameter("lastn", OpenApiTypes.INT, required=False, description="Only the last N readings (≤100000)."),
]


def stream_data_page(view, request, queryset, streams: dict[int, StreamId]) -> Response:
    """Filter (start, end, streamer ids, lastn), paginate and shape a stream-data queryset: one query on the
    streamdata database when the first page holds everything, else the page and a count; the page's rows are read
    with their JSON written by PostgreSQL and joined by ``stream_data_json``. The views that answer with it render
    with ``FAST_RENDERERS``."""
    filterset = StreamDataFilterSet(request.query_params, queryset=with_json_head(queryset, streams), request=request)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    paginator = ShortFirstPagePagination()
    page = paginator.paginate_queryset(filterset.rows(WIRE_COLUMNS), request, view=view)
    return paginator.get_paginated_response(stream_data_json(page or [], streams))


@extend_schema_view(
    list=extend_schema(parameters=[FILTER_PARAMETER, MASK_PARAMETER]),
    create=extend_schema(
        request=StreamDataPointSerializer(many=True),
        responses={
            201: OpenApiResponse(StreamDataCountSerializer, description="A list: how many readings were new."),
        },
        description="Post one reading (answers the stored row) or a list (answers {count}). All or nothing.",
    ),
)
class StreamDataViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Data of the streams a ``?filter=`` names; reading needs ``can_read_stream_data``, writing
    ``can_create_stream_data``."""

    permission_classes = [IsAuthenticated]
    # A device token reads and writes its own device's data: the selectors and the service restrict every stream
    # through its scope, so another device's stream is a 404 (docs/permissions.md, device tokens).
    accepts_device_tokens = True
    renderer_classes = FAST_RENDERERS
    queryset = StreamData.objects.none()
    serializer_class = StreamDataSerializer
    filterset_class = StreamDataFilterSet
    pagination_class = ShortFirstPagePagination

    def list(self, request, *args, **kwargs):
        selection = stream_data_for_filter(user=request.user, value=request.query_params.get("filter"))
        return stream_data_page(self, request, selection.rows, selection.streams)

    def create(self, request, *args, **kwargs):
        many = isinstance(request.data, list)
        if many and not request.data:
            raise ValidationError({"detail": "The list of readings is empty."})
        if many and len(request.data) > MAX_POINTS_PER_POST:
            raise ValidationError({"detail": f"At most {MAX_POINTS_PER_POST} readings per request."})
        points = StreamDataPointSerializer(data=request.data, many=many)
        points.is_valid(raise_exception=True)
        rows, inserted = services.stream_data_create(
            user=request.user, points=points.validated_data if many else [points.validated_data]
        )
        if many:
            return Response({"count": len(inserted)}, status=status.HTTP_201_CREATED)
        row = rows[0]
        # The stream the service has just let this user write to, read back within the same scope.
        stream = stream_list(user=request.user, action="create_data").get(series=row.series)
        if inserted:
            row.id = inserted[0]
            answer = status.HTTP_201_CREATED
        else:
            # The same reading was stored before: answer with that row.
            row = stream_data_for_series(series=[stream.series]).get(streamer_local_id=row.streamer_local_id)
            answer = status.HTTP_200_OK
        return Response(StreamDataSerializer(row, context={"streams": {stream.series: stream}}).data, status=answer)


DATA_FRAME_COLUMNS = ("timestamp", "value", "int_value", "stream")
DATA_FRAME_CHUNK = 2000


def _csv_lines(rows, slugs: dict[int, str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DATA_FRAME_COLUMNS)
    for count, (timestamp, value, int_value, series) in enumerate(rows, 1):
        writer.writerow((iso_utc(timestamp), "" if value is None else repr(value), int_value, slugs[series]))
        if count % DATA_FRAME_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


class StreamDataFrameView(APIView):
    """``df/?filter=…&format=csv``: every row the filter names (start, end, lastn and streamer ids apply) as one CSV
    table, a header line then ``timestamp,value,int_value,stream``, streamed rather than paginated."""

    permission_classes = [IsAuthenticated]
    accepts_device_tokens = True  # its own device's data only, as for data/

    def perform_content_negotiation(self, request, force=False):
        # ?format=csv names the table's format, not a DRF renderer; errors are still rendered as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[
            FILTER_PARAMETER,
            MASK_PARAMETER,
            OpenApiParameter("format", OpenApiTypes.STR, required=False, description="csv (the only format)."),
            *DATA_PARAMETERS,
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, *args, **kwargs):
        table_format = request.query_params.get("format", "csv")
        if table_format != "csv":
            raise ValidationError({"format": [f"Unknown format '{table_format}': only csv."]})
        selection = stream_data_for_filter(user=request.user, value=request.query_params.get("filter"))
        filterset = StreamDataFilterSet(request.query_params, queryset=selection.rows, request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        rows = filterset.rows("series" if c == "stream" else c for c in DATA_FRAME_COLUMNS)
        slugs = {series: stream.slug for series, stream in selection.streams.items()}
        lines = _csv_lines(rows.iterator(chunk_size=DATA_FRAME_CHUNK), slugs)
        response = StreamingHttpResponse(lines, content_type="text/csv")
        response["Content-Disposition"] = 'inline; filename="data.csv"'
        return response
