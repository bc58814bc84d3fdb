"""Reads for reports: the templates and generated reports a user may see, and what a report holds, read through the
stream data's index ranges and roll-ups (``streamdata.selectors``) a chunk at a time, so a report of any length
reads in flat memory."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet

from server.apps.core.errors import PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.project.models import Project
from server.apps.report.models import AGGREGATION_SECONDS, GeneratedUserReport, ReportAggregation, UserReport
from server.apps.stream.models import StreamId
from server.apps.stream.values import output_factors
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.selectors.rows import stream_data_bounds, stream_data_window
from server.apps.streamdata.selectors.series import Bucket, series_buckets

# Rows read per round trip of a server-side cursor.
READ_CHUNK = 10_000
# Rows per piece of a streamed export (about a megabyte of CSV).
EXPORT_CHUNK = 10_000
EXPORT_COLUMNS = ("stream", "timestamp", "value")
# Aggregate buckets read per query.
BUCKET_CHUNK = 5_000
DAY = 86400


def report_template_list(*, user) -> QuerySet[UserReport]:
    return UserReport.objects.restrict(user, "view").select_related("org", "project", "created_by")


def generated_report_list(*, user) -> QuerySet[GeneratedUserReport]:
    return GeneratedUserReport.objects.restrict(user, "view").select_related("org", "project", "report", "created_by")


def report_streams(*, report: UserReport | GeneratedUserReport) -> list[StreamId]:
    """The streams a report reads: those named in ``sources``, else every stream of the project's devices (not
    those archived in data blocks), by slug."""
    streams = StreamId.objects.filter(project_id=report.project_id, block__isnull=True).select_related(
        "output_unit", "variable"
    )
    streams = streams.filter(slug__in=report.sources) if report.sources else streams.filter(device__isnull=False)
    return list(streams.order_by("slug"))


@dataclass(frozen=True)
class StreamSummary:
    """A stream's readings with a value in the window: how many, the first and last timestamps, and the mean,
    minimum and maximum in the stream's output unit."""

    count: int
    first: datetime | None
    last: datetime | None
    mean: float | None
    minimum: float | None
    maximum: float | None


class ValueShape:
    """Stored values → the stream's output unit. A negative factor turns minima into maxima."""

    def __init__(self, stream: StreamId) -> None:
        self.stream = stream
        m, d, _ = output_factors(stream)
        self.flip = (m < 0) != (d < 0)

    def value(self, value: float | None) -> float | None:
        return self.stream.output_value(value)

    def bucket(self, bucket: Bucket) -> tuple[int, float | None, float | None, float | None]:
        """``(count, mean, minimum, maximum)`` of a ``(count, sum, min, max)`` bucket, in the output unit."""
        count, total, low, high = bucket
        low_value, high_value = self.value(low), self.value(high)
        if self.flip:
            low_value, high_value = high_value, low_value
        return count, self.value(total / count), low_value, high_value


def report_window(*, stream: StreamId, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The closed ends of a window with open sides: the stream's first reading, a microsecond past its last."""
    if start is None or end is None:
        first, last = stream_data_bounds(series=stream.series, start=start, end=end)
        start = start or first or datetime.now(UTC)
        end = end or ((last + timedelta(microseconds=1)) if last else start)
    return start, end


def _merged(one: Bucket | None, other: Bucket) -> Bucket:
    if one is None:
        return other
    return one[0] + other[0], one[1] + other[1], min(one[2], other[2]), max(one[3], other[3])


def stream_summary(*, stream: StreamId, start: datetime | None, end: datetime | None) -> StreamSummary:
    """The stream's summary over the window: its day roll-ups inside the window and its rows at the two edges
    (``series_buckets``), merged, plus its bounds from the two ends of the index range. Exact, in four queries,
    however many readings the window holds."""
    closed_start, closed_end = report_window(stream=stream, start=start, end=end)
    first, last = stream_data_bounds(series=stream.series, start=closed_start, end=closed_end)
    total: Bucket | None = None
    if first is not None and last is not None:
        # Over the readings' own span: the same buckets, whatever wide window was asked for (years 1 to 9999).
        span_end = last + timedelta(microseconds=1)
        for bucket in series_buckets(series=stream.series, start=first, end=span_end, width=DAY).values():
            total = _merged(total, bucket)
    if total is None:
        return StreamSummary(count=0, first=first, last=last, mean=None, minimum=None, maximum=None)
    count, mean, minimum, maximum = ValueShape(stream).bucket(total)
    return StreamSummary(count=count, first=first, last=last, mean=mean, minimum=minimum, maximum=maximum)


def stream_readings(
    *, stream: StreamId, start: datetime | None, end: datetime | None, chunk_size: int = READ_CHUNK
) -> Iterator[tuple[datetime | None, float | None]]:
    """``(timestamp, value)`` of each reading with a value in the window, in time order, value in the output unit:
    one server-side cursor fetching ``chunk_size`` rows at a time."""
    shape = ValueShape(stream)
    rows = (
        stream_data_window(series=stream.series, start=start, end=end)
        .filter(value__isnull=False, timestamp__isnull=False)
        .order_by("timestamp", "id")
        .values_list("timestamp", "value")
    )
    for timestamp, value in rows.iterator(chunk_size=chunk_size):
        yield timestamp, shape.value(value)


# A time bucket of a report: its start, readings, mean, minimum and maximum.
BucketRow = tuple[datetime, int, float | None, float | None, float | None]


def stream_bucket_rows(
    *, stream: StreamId, start: datetime | None, end: datetime | None, aggregation: str, chunk: int = BUCKET_CHUNK
) -> Iterator[BucketRow]:
    """The window's buckets with readings, oldest first: ``chunk`` buckets per query, each from the roll-ups for
    the whole roll-up buckets and from the rows for the window's edges (``series_buckets``), so exact."""
    width = AGGREGATION_SECONDS[ReportAggregation(aggregation)]
    # The chunks walk the readings' own span in the window, not the window: a window from the year 1 would
    # otherwise cost a query per empty chunk of 5,000 minutes since then (213,000 of them).
    window_start, window_end = report_window(stream=stream, start=start, end=end)
    first, last = stream_data_bounds(series=stream.series, start=window_start, end=window_end)
    if first is None or last is None:
        return
    closed_start, closed_end = first, last + timedelta(microseconds=1)
    shape = ValueShape(stream)
    first_bucket = math.floor(closed_start.timestamp() / width)
    while True:
        chunk_start = max(closed_start, datetime.fromtimestamp(first_bucket * width, UTC))
        if chunk_start >= closed_end:
            return
        chunk_end = min(closed_end, datetime.fromtimestamp((first_bucket + chunk) * width, UTC))
        buckets = series_buckets(series=stream.series, start=chunk_start, end=chunk_end, width=width)
        for bucket in sorted(buckets):
            yield (datetime.fromtimestamp(bucket * width, UTC), *shape.bucket(buckets[bucket]))
        first_bucket += chunk


def project_export_streams(*, user, project: Project) -> list[StreamId]:
    """The streams a bulk export of ``project`` (visible to ``user``) holds: every stream of the project, by slug.
    Needs ``can_read_stream_data`` in its organisation (403)."""
    if not user_has_org_permission(user, project.org, permission_for(StreamId, "read_data")):
        raise PermissionDeniedError("You may not read stream data in this organisation.")
    return list(StreamId.objects.filter(project=project).select_related("output_unit").order_by("slug"))


def _export_sql(stream: StreamId) -> tuple[str, list[Any]]:
    table = StreamData._meta.db_table
    value, params = "value", []
    if stream.output_unit_id:
        # The same double-precision steps as StreamId.output_value, so the figures agree with the reports'.
        m, d, o = output_factors(stream)
        value, params = "value * %s::float8 / %s::float8 + %s::float8", [m, d, o]
    sql = (
        f"SELECT %s, to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), {value} "
        f"FROM {table} WHERE series = %s ORDER BY timestamp, id"
    )
    return sql, [stream.slug, *params, stream.series]


def project_export_csv(*, streams: list[StreamId], chunk_size: int = EXPORT_CHUNK) -> Iterator[bytes]:
    """Every reading of ``streams`` as CSV (``stream,timestamp,value``; values in each stream's output unit), in
    pieces of ``chunk_size`` rows: one server-side cursor per stream, so memory stays flat however many rows there
    are. PostgreSQL formats the timestamps; Python's csv module writes each fetched chunk in one call."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue().encode()
    connection = connections[router.db_for_read(StreamData)]
    for stream in streams:
        sql, params = _export_sql(stream)
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(chunk_size):
                buffer.seek(0)
                buffer.truncate()
                writer.writerows(rows)
                yield buffer.getvalue().encode()
        finally:
            cursor.close()
