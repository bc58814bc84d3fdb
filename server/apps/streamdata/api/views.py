"""Stream data endpoints: ``data/`` (read by ``?filter=``, write one reading or a list), ``df/`` (the same rows as
one CSV table, read by iotile-analytics) and the shared list helper behind ``stream/<s>/data/``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
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
from server.apps.core.compiled import CompiledQuery
from server.apps.core.filtersets import LASTN_LIMIT
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_list
from server.apps.streamdata import services
from server.apps.streamdata.api.serializers import (
    ROW_COLUMNS,
    WIRE_COLUMNS,
    WIRE_SQL,
    StreamDataCountSerializer,
    StreamDataPointSerializer,
    StreamDataSerializer,
    iso_utc,
    stream_data_json,
    with_wire_json,
)
from server.apps.streamdata.filtersets import StreamDataFilterSet, filtered, filtered_rows
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.selectors.data_filter import stream_data_for_filter
from server.apps.streamdata.selectors.rows import NewestRows, newest_first, stream_data_for_series

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
    OpenApiParameter(
        "lastn",
        OpenApiTypes.INT,
        required=False,
        description=f"Only the last N readings: a whole number, at most {LASTN_LIMIT} (more reads {LASTN_LIMIT}).",
    ),
]


# The statement of a lastn page, compiled once per shape (how many streams, which other filters): building and
# compiling its queryset cost more than PostgreSQL's reading of a thousand rows (core/compiled.py). Up to
# COMPILED_STREAMS_MAX streams, so that the shapes kept stay few; more are compiled per request. It selects the rows'
# plain columns, and their JSON is written over the N rows it chose (NewestRows' computed columns).
COMPILED_STREAMS_MAX = 16
_NEWEST_STATEMENTS: dict[tuple[int, tuple[str, ...]], CompiledQuery] = {}
_FILTER_KINDS = {"start": datetime, "end": datetime, "streamer_id_0": int, "streamer_id_1": int}


def _newest_statement(streams: int, filters: tuple[str, ...]) -> CompiledQuery:
    compiled = _NEWEST_STATEMENTS.get((streams, filters))
    if compiled is None:

        def build(**values) -> QuerySet[StreamData]:
            rows = stream_data_for_series(series=[values[f"series_{number}"] for number in range(streams)])
            return newest_first(filtered(rows, {name: values[name] for name in filters}), ROW_COLUMNS)

        kinds = {name: _FILTER_KINDS[name] for name in filters}
        kinds.update({f"series_{number}": int for number in range(streams)})
        compiled = _NEWEST_STATEMENTS[(streams, filters)] = CompiledQuery(build, **kinds)
    return compiled


def _page_rows(values: dict[str, Any], streams: dict[int, StreamId], rows: QuerySet | None) -> QuerySet | NewestRows:
    """The rows the filters' ``values`` leave of ``rows`` (None: all of the streams'), read as ``WIRE_COLUMNS``."""
    count = values.get("lastn")
    if rows is not None or not count or not 0 < len(streams) <= COMPILED_STREAMS_MAX:
        rows = stream_data_for_series(series=list(streams)) if rows is None else rows
        return filtered_rows(with_wire_json(rows), values, WIRE_COLUMNS)
    filters = tuple(name for name, value in values.items() if name != "lastn" and value is not None)
    # A streamer id is read as a decimal; the column takes its integer part, as the queryset's filter would.
    arguments: dict[str, Any] = {
        name: values[name] if name in ("start", "end") else int(values[name]) for name in filters
    }
    arguments.update({f"series_{number}": series for number, series in enumerate(streams)})
    using, sql, params = _newest_statement(len(streams), filters).statement(**arguments)
    return NewestRows(using, (sql, params), count, WIRE_COLUMNS, computed=WIRE_SQL)


def stream_data_page(view, request, streams: dict[int, StreamId], rows: QuerySet | None = None) -> Response:
    """Filter (start, end, streamer ids, lastn), paginate and shape the rows of ``streams`` (or ``rows`` of them):
    one query on the streamdata database when the first page holds everything, else the page and a count; the
    page's rows are read with their JSON written by PostgreSQL and joined by ``stream_data_json``. The views that
    answer with it render with ``FAST_RENDERERS``."""
    form = StreamDataFilterSet.bound_form(request.query_params)
    if not form.is_valid():
        raise ValidationError({name: [str(error) for error in errors] for name, errors in form.errors.items()})
    paginator = ShortFirstPagePagination()
    page = paginator.paginate_queryset(_page_rows(form.cleaned_data, streams, rows), request, view=view)
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
        return stream_data_page(self, request, selection.streams, selection.alias_rows)

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
