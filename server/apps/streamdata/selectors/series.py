"""A stream's chart over a time window: its readings when they are few enough, else PostgreSQL's mean, minimum and
maximum per time bucket, values in the stream's output unit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.db import connections, router

from server.apps.stream.models import StreamId
from server.apps.stream.values import output_factors
from server.apps.streamdata.filtersets import DATA_ORDERING
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.selectors.rows import stream_data_window

# A chart gets at most this many points: the raw readings when the window holds no more, else one bucket per
# stretch of time, each with its mean, minimum and maximum (so a spike inside a bucket stays visible).
SERIES_MAX_POINTS = 1500
# Bucket widths in seconds, all dividing a day or a week, so panning keeps the same buckets (they are aligned on
# the epoch) and the chart does not shimmer. Wider windows use whole multiples of a week.
SERIES_BUCKET_WIDTHS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
WEEK_SECONDS = 7 * 86400


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
    most ``max_points``, else per-bucket mean, minimum and maximum computed by PostgreSQL. Two queries at most."""
    readings = list(
        stream_data_window(series=stream.series, start=start, end=end)
        .filter(value__isnull=False)
        .order_by(*DATA_ORDERING)
        .values_list("timestamp", "value")[: max_points + 1]
    )
    if len(readings) <= max_points:
        return StreamDataSeries(
            x=[_epoch_seconds(timestamp) for timestamp, _ in readings],
            values=[stream.output_value(value) for _, value in readings],
            lower=None,
            upper=None,
            bucket_seconds=None,
            count=len(readings),
        )
    width = series_bucket_seconds((end - start).total_seconds(), max_points)
    buckets = _series_buckets(series=stream.series, start=start, end=end, width=width)
    x, values, lower, upper, count = [], [], [], [], 0
    # A unit conversion with a negative factor turns minima into maxima.
    m, d, _ = output_factors(stream)
    flip = (m < 0) != (d < 0)
    for bucket, readings_in_bucket, low, high, mean in buckets:
        # The middle of the bucket's part of the window.
        left = max(bucket * width, start.timestamp())
        right = min((bucket + 1) * width, end.timestamp())
        x.append((left + right) / 2)
        values.append(stream.output_value(mean))
        low, high = stream.output_value(low), stream.output_value(high)
        lower.append(high if flip else low)
        upper.append(low if flip else high)
        count += readings_in_bucket
    return StreamDataSeries(x=x, values=values, lower=lower, upper=upper, bucket_seconds=width, count=count)


def _epoch_seconds(timestamp: datetime | None) -> float:
    assert timestamp is not None, "a window bounded by [start, end) holds no reading without a timestamp"
    return timestamp.timestamp()


def _series_buckets(*, series: int, start: datetime, end: datetime, width: int) -> list[tuple]:
    """``(bucket, count, min, max, mean)`` per non-empty bucket, bucket ``k`` covering ``[k·width, (k+1)·width)``
    epoch seconds. One aggregate per bucket, each a range scan of the (series, timestamp) index: PostgreSQL
    cannot tell that a GROUP BY on the bucket follows the index order, and would sort the whole window instead."""
    connection = connections[router.db_for_read(StreamData)]
    table = connection.ops.quote_name(StreamData._meta.db_table)
    sql = f"""
        SELECT k, s.n, s.low, s.high, s.mean
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS k
        CROSS JOIN LATERAL (
            SELECT count(value) AS n, min(value) AS low, max(value) AS high, avg(value) AS mean
            FROM {table}
            WHERE series = %(series)s
              AND timestamp >= greatest(%(start)s, to_timestamp(k * %(width)s))
              AND timestamp < least(%(end)s, to_timestamp((k + 1) * %(width)s))
        ) AS s
        WHERE s.n > 0
        ORDER BY k
    """
    params: dict[str, int | str | datetime] = {
        "first": math.floor(start.timestamp() / width),
        "last": math.ceil(end.timestamp() / width) - 1,
        "series": series,
        "start": start,
        "end": end,
        "width": width,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
