"""A stream's chart over a time window: its readings when they are few enough, else the mean, minimum and maximum per
time bucket, values in the stream's output unit.

Buckets come from the roll-ups (``StreamDataRollup``): the coarsest resolution that divides the chart's bucket width
is read for the part of the window its buckets cover whole, and the rows themselves for the two edges (each less
than one roll-up bucket, inside one chart bucket). Counts, minima and maxima are those of the rows; a mean is the
sum over the count. So any window is exact at every resolution, and a whole-stream chart reads a few thousand
roll-ups instead of millions of rows."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connections, router

from server.apps.stream.models import StreamId
from server.apps.stream.values import output_factors
from server.apps.streamdata.models import ROLLUP_RESOLUTIONS, StreamData, StreamDataRollup
from server.apps.streamdata.selectors.rows import DATA_ORDERING, stream_data_window

# A chart gets at most this many points: the raw readings when the window holds no more, else one bucket per
# stretch of time, each with its mean, minimum and maximum (so a spike inside a bucket stays visible).
SERIES_MAX_POINTS = 1500
# Bucket widths in seconds, all dividing a day or a week, so panning keeps the same buckets (they are aligned on
# the epoch) and the chart does not shimmer. Wider windows use whole multiples of a week.
SERIES_BUCKET_WIDTHS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
WEEK_SECONDS = 7 * 86400
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class StreamDataSeries:
    """A chart's points: epoch seconds and stored values; ``lower``/``upper`` are each bucket's minimum and
    maximum (None for raw readings, when ``bucket_seconds`` is None too). ``count`` is the readings represented."""

    x: list[float]
    values: list[float | None]
    lower: list[float | None] | None
    upper: list[float | None] | None
    bucket_seconds: int | None
    count: int


def series_bucket_seconds(span_seconds: float, max_points: int = SERIES_MAX_POINTS) -> int:
    """The narrowest bucket width that cuts ``span_seconds`` into at most ``max_points`` buckets."""
    needed = span_seconds / max(max_points - 1, 1)
    for width in SERIES_BUCKET_WIDTHS:
        if width >= needed:
            return width
    return WEEK_SECONDS * math.ceil(needed / WEEK_SECONDS)


def stream_data_series(
    *, stream: StreamId, start: datetime, end: datetime, max_points: int = SERIES_MAX_POINTS
) -> StreamDataSeries:
    """The stream's chart over [start, end), values in its output unit: the readings themselves when there are at
    most ``max_points``, else per-bucket mean, minimum and maximum computed by PostgreSQL.

    A window wide enough for roll-ups (a bucket width of a minute or more) reads its buckets first: their counts
    are exact, so they tell whether the readings are few enough to send as they are, and a whole-stream chart of
    millions of readings is two small queries (roll-ups, edges) without reading any reading. Only a window with
    few readings reads them afterwards. A narrower window reads its readings first, at most ``max_points + 1``,
    and buckets them from the rows when there are more."""
    width = series_bucket_seconds((end - start).total_seconds(), max_points)
    buckets = None
    if _rollup_resolution(width) is not None:
        buckets = series_buckets(series=stream.series, start=start, end=end, width=width)
        if sum(bucket[0] for bucket in buckets.values()) > max_points:
            return _bucketed(stream, start, end, width, buckets)
    readings = _readings(stream, start, end, max_points + 1)
    if len(readings) <= max_points:
        return StreamDataSeries(
            x=[_epoch_seconds(timestamp) for timestamp, _ in readings],
            values=_converter(stream)([value for _, value in readings]),
            lower=None,
            upper=None,
            bucket_seconds=None,
            count=len(readings),
        )
    if buckets is None:
        buckets = series_buckets(series=stream.series, start=start, end=end, width=width)
    return _bucketed(stream, start, end, width, buckets)


def _readings(stream: StreamId, start: datetime, end: datetime, limit: int) -> list[tuple[datetime, float]]:
    rows = (
        stream_data_window(series=stream.series, start=start, end=end)
        .filter(value__isnull=False)
        .order_by(*DATA_ORDERING)
        .values_list("timestamp", "value")[:limit]
    )
    return [(timestamp, value) for timestamp, value in rows if timestamp is not None and value is not None]


def _converter(stream: StreamId) -> Callable[[list[float | None]], list[float | None]]:
    """A function of a list of stored values to the list in the stream's output unit, worked out once."""
    if not stream.output_unit_id:
        return list
    m, d, o = output_factors(stream)
    return lambda values: [None if value is None else value * m / d + o for value in values]


def _bucketed(
    stream: StreamId, start: datetime, end: datetime, width: int, buckets: dict[int, Bucket]
) -> StreamDataSeries:
    ordered = sorted(buckets.items())
    window_start, window_end = start.timestamp(), end.timestamp()
    # The middle of each bucket's part of the window.
    x = [(max(k * width, window_start) + min((k + 1) * width, window_end)) / 2 for k, _ in ordered]
    convert = _converter(stream)
    values = convert([total / readings for _, (readings, total, _, _) in ordered])
    lower = convert([low for _, (_, _, low, _) in ordered])
    upper = convert([high for _, (_, _, _, high) in ordered])
    # A unit conversion with a negative factor turns minima into maxima.
    m, d, _ = output_factors(stream)
    if (m < 0) != (d < 0):
        lower, upper = upper, lower
    count = sum(readings for _, (readings, _, _, _) in ordered)
    return StreamDataSeries(x=x, values=values, lower=lower, upper=upper, bucket_seconds=width, count=count)


# (count, sum, minimum, maximum) of a bucket's values.
Bucket = tuple[int, float, float, float]


def series_buckets(*, series: int, start: datetime, end: datetime, width: int) -> dict[int, Bucket]:
    """Bucket ``k`` (``[k·width, (k+1)·width)`` epoch seconds, cut to the window) → its readings' count, sum,
    minimum and maximum, for the buckets with readings: from the roll-ups of the coarsest resolution dividing
    ``width`` over the whole roll-up buckets inside the window, and from the rows for the edges (see the module's
    docstring). Two queries: the roll-ups and the edges (one when the window has no edge, or is not wide enough
    for a whole roll-up bucket and is read from the rows)."""
    resolution = _rollup_resolution(width)
    # Whole epoch seconds inside the window, in integers: a float's timestamp of the year 9999 rounds up past it.
    first, last = -((UNIX_EPOCH - start) // ONE_SECOND), (end - UNIX_EPOCH) // ONE_SECOND
    if resolution is None or (inner_start := -(-first // resolution)) >= (inner_end := last // resolution):
        return _row_buckets(series=series, start=start, end=end, width=width)
    inner = (datetime.fromtimestamp(inner_start * resolution, UTC), datetime.fromtimestamp(inner_end * resolution, UTC))
    buckets = _rollup_buckets(series, resolution, inner_start, inner_end, width // resolution)
    edges = [
        (edge_start, edge_end) for edge_start, edge_end in ((start, inner[0]), (inner[1], end)) if edge_start < edge_end
    ]
    for edge_start, found in _edge_totals(series, edges):
        bucket = math.floor(edge_start.timestamp() / width)
        buckets[bucket] = _merged(buckets[bucket], found) if bucket in buckets else found
    return buckets


def _rollup_resolution(width: int) -> int | None:
    """The coarsest roll-up resolution that divides a chart bucket width (None: none does, under a minute)."""
    return max((r for r in ROLLUP_RESOLUTIONS if width % r == 0), default=None)


def _merged(one: Bucket, other: Bucket) -> Bucket:
    return one[0] + other[0], one[1] + other[1], min(one[2], other[2]), max(one[3], other[3])


def _edge_totals(series: int, edges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, Bucket]]:
    """``(count, sum, min, max)`` of the rows in each edge window (each inside one chart bucket) with readings, by
    the edge's start: one query, an index range per edge."""
    if not edges:
        return []
    connection = connections[router.db_for_read(StreamData)]
    table = connection.ops.quote_name(StreamData._meta.db_table)
    one = (
        f"SELECT %s::timestamptz, count(value), sum(value), min(value), max(value) FROM {table} "
        "WHERE series = %s AND timestamp >= %s AND timestamp < %s"
    )
    params: list[int | datetime] = []
    for edge_start, edge_end in edges:
        params += [edge_start, series, edge_start, edge_end]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join([one] * len(edges)), params)
        return [(edge, (readings, total, low, high)) for edge, readings, total, low, high in cursor if readings]


def _rollup_buckets(series: int, resolution: int, first: int, end: int, per_bucket: int) -> dict[int, Bucket]:
    """Roll-up buckets ``[first, end)`` of the resolution, summed ``per_bucket`` at a time into chart buckets by
    PostgreSQL (a month of minutes is 43,200 roll-ups but 1,440 chart buckets): one index range."""
    connection = connections[router.db_for_read(StreamDataRollup)]
    table = connection.ops.quote_name(StreamDataRollup._meta.db_table)
    sql = (
        f"SELECT floor(bucket::numeric / %(per)s)::bigint, sum(count), sum(sum), min(min), max(max) FROM {table} "
        "WHERE series = %(series)s AND resolution = %(resolution)s AND bucket >= %(first)s AND bucket < %(end)s "
        "AND count > 0 GROUP BY 1"
    )
    params = {"per": per_bucket, "series": series, "resolution": resolution, "first": first, "end": end}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # Roll-ups with readings (count > 0) have a sum, a minimum and a maximum.
        return {bucket: (int(readings), total, low, high) for bucket, readings, total, low, high in cursor.fetchall()}


def _epoch_seconds(timestamp: datetime | None) -> float:
    assert timestamp is not None, "a window bounded by [start, end) holds no reading without a timestamp"
    return timestamp.timestamp()


def _row_buckets(*, series: int, start: datetime, end: datetime, width: int) -> dict[int, Bucket]:
    """``(count, sum, min, max)`` of the rows per non-empty bucket, bucket ``k`` covering ``[k·width, (k+1)·width)``
    epoch seconds. One aggregate per bucket, each a range scan of the (series, timestamp) index: PostgreSQL cannot
    tell that a GROUP BY on the bucket follows the index order, and would sort the whole window instead."""
    connection = connections[router.db_for_read(StreamData)]
    table = connection.ops.quote_name(StreamData._meta.db_table)
    sql = f"""
        SELECT k, s.n, s.total, s.low, s.high
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS k
        CROSS JOIN LATERAL (
            SELECT count(value) AS n, sum(value) AS total, min(value) AS low, max(value) AS high
            FROM {table}
            WHERE series = %(series)s
              AND timestamp >= greatest(%(start)s, to_timestamp(k * %(width)s))
              AND timestamp < least(%(end)s, to_timestamp((k + 1) * %(width)s))
        ) AS s
        WHERE s.n > 0
        ORDER BY k
    """
    params: dict[str, int | datetime] = {
        "first": math.floor(start.timestamp() / width),
        "last": math.ceil(end.timestamp() / width) - 1,
        "series": series,
        "start": start,
        "end": end,
        "width": width,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {bucket: (readings, total, low, high) for bucket, readings, total, low, high in cursor.fetchall()}
