"""Reads on stream data, scoped through the streams a user may see.

Rows name their stream by slug. The slugs come from a scoped ``StreamId`` query on the default database; the data
query then uses only ``(stream_slug, timestamp)`` on the streamdata database. Nothing joins across the two.

``stream_data_for_filter`` is the one place a ``?filter=`` slug becomes rows: ``s--``, ``d--``, ``v--`` and ``b--``
name streams whose rows are read whole; ``a--`` (an alias) names time ranges of streams, one per tap.

The dashboard's stream page reads one stream over a time window (at the end): its summary, a chart series that
PostgreSQL downsamples, and table pages by keyset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, router
from django.db.models import Count, Max, Min, Q, QuerySet, Subquery

from server.apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from server.apps.core.lookups import device_id_from
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.slugs import SlugError, slug_kind
from server.apps.datablock.selectors import datablock_list, datablock_lookup
from server.apps.device.selectors import device_list
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_list, stream_lookup, variable_list, variable_lookup
from server.apps.streamalias.selectors import alias_list, alias_lookup, alias_tap_ranges
from server.apps.streamdata.filtersets import DATA_ORDERING
from server.apps.streamdata.models import StreamData

FILTER_KINDS = {"s": "stream", "d": "device", "v": "variable", "b": "data block"}
FILTER_HELP = "a stream (s--), device (d--), variable (v--), data block (b--) or stream alias (a--) slug"


@dataclass(frozen=True)
class DataSelection:
    """The rows a ``?filter=`` names, and the streams they belong to (for output units)."""

    rows: QuerySet[StreamData]
    streams: dict[str, StreamId]


def stream_data_for_streams(*, stream_slugs: Iterable[str]) -> QuerySet[StreamData]:
    return StreamData.objects.filter(stream_slug__in=list(stream_slugs)).order_by(*DATA_ORDERING)


def _check_read_data(user, org) -> None:
    if not user_has_org_permission(user, org, permission_for(StreamId, "read_data")):
        raise PermissionDeniedError("You may not read stream data in this organisation.")


def streams_for_data_filter(*, user, value: str | None) -> list[StreamId]:
    """The streams whose data ``?filter=`` asks for: ``s--`` one stream, ``d--`` the device's streams in its
    project, ``v--`` the variable's streams across the project's devices, ``b--`` the streams archived in a block.

    Out of scope is a 404; visible but without ``can_read_stream_data`` a 403; a missing or unknown filter a 400.
    """
    if not value:
        raise ApplicationError(f"A ?filter= is required: {FILTER_HELP}.")
    kind = slug_kind(value)
    if kind not in FILTER_KINDS:
        raise ApplicationError(f"'{value}' is not {FILTER_HELP}.")
    try:
        if kind == "b":
            block = datablock_list(user=user).filter(**datablock_lookup(value)).first()
            if block is None:
                raise NotFoundError("Data block not found.")
            _check_read_data(user, block.org)
            return list(stream_list(user=user).filter(block=block))
        if kind == "s":
            stream = stream_list(user=user).filter(**stream_lookup(value)).first()
            if stream is None:
                raise NotFoundError("Stream not found.")
            _check_read_data(user, stream.org)
            return [stream]
        if kind == "d":
            device = device_list(user=user).filter(id=device_id_from(value)).first()
            if device is None:
                raise NotFoundError("Device not found.")
            _check_read_data(user, device.org)
            # An unclaimed device's project_id is None, which filter() reads as IS NULL: no streams.
            streams = stream_list(user=user).filter(
                device=device,
                project_id=device.project_id,  # type: ignore[misc]
                block__isnull=True,
            )
            return list(streams)
        variable = variable_list(user=user).filter(**variable_lookup(value)).first()
        if variable is None:
            raise NotFoundError("Variable not found.")
        _check_read_data(user, variable.org)
        return list(stream_list(user=user).filter(variable=variable, block__isnull=True))
    except SlugError as exc:
        raise ApplicationError(str(exc), {"filter": [str(exc)]}) from exc


def _alias_data(*, user, value: str) -> DataSelection:
    try:
        alias = alias_list(user=user).filter(**alias_lookup(value)).first()
    except SlugError as exc:
        raise ApplicationError(str(exc), {"filter": [str(exc)]}) from exc
    if alias is None:
        raise NotFoundError("Stream alias not found.")
    _check_read_data(user, alias.org)
    ranges = alias_tap_ranges(alias=alias)
    if not ranges:
        return DataSelection(rows=StreamData.objects.none(), streams={})
    # One query whatever the number of taps: an OR of (stream, time range), each served by the (stream_slug,
    # timestamp) index; the ranges do not overlap, so no row appears twice.
    condition = Q(pk__in=[])
    for tap in ranges:
        window = Q(stream_slug=tap.stream.slug, timestamp__gte=tap.start)
        if tap.end is not None:
            window &= Q(timestamp__lt=tap.end)
        condition |= window
    rows = StreamData.objects.filter(condition).order_by(*DATA_ORDERING)
    return DataSelection(rows=rows, streams={tap.stream.slug: tap.stream for tap in ranges})


def stream_data_for_filter(*, user, value: str | None) -> DataSelection:
    """The rows ``data/?filter=`` reads, in time order. Out of scope is a 404; visible without
    ``can_read_stream_data`` a 403; a missing or malformed filter a 400."""
    if value and slug_kind(value) == "a":
        return _alias_data(user=user, value=value)
    streams = streams_for_data_filter(user=user, value=value)
    return DataSelection(
        rows=stream_data_for_streams(stream_slugs=[stream.slug for stream in streams]),
        streams={stream.slug: stream for stream in streams},
    )


# One stream's rows for the dashboard's stream page --------------------------------------------------------------
#
# The page names an already-scoped stream; everything below reads the (stream_slug, timestamp) index of that stream
# over a half-open window [start, end), where None leaves that side open.

# A chart gets at most this many points: the raw readings when the window holds no more, else one bucket per
# stretch of time, each with its mean, minimum and maximum (so a spike inside a bucket stays visible).
SERIES_MAX_POINTS = 1500
# Bucket widths in seconds, all dividing a day or a week, so panning keeps the same buckets (they are aligned on
# the epoch) and the chart does not shimmer. Wider windows use whole multiples of a week.
SERIES_BUCKET_WIDTHS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
WEEK_SECONDS = 7 * 86400


@dataclass(frozen=True)
class StreamDataSummary:
    count: int
    first: datetime | None
    last: datetime | None


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


@dataclass(frozen=True)
class StreamDataTablePage:
    """One page of a table listed newest first: ``newer`` and ``older`` are the row ids to page from (None at either
    end of the window)."""

    rows: list[StreamData]
    newer: int | None
    older: int | None


def stream_data_window(*, stream_slug: str, start: datetime | None = None, end: datetime | None = None):
    rows = StreamData.objects.filter(stream_slug=stream_slug)
    if start is not None:
        rows = rows.filter(timestamp__gte=start)
    if end is not None:
        rows = rows.filter(timestamp__lt=end)
    return rows


def stream_data_summary(*, stream_slug: str) -> StreamDataSummary:
    """How many readings the stream has, and its first and last timestamps: one scan of the stream's index."""
    found = StreamData.objects.filter(stream_slug=stream_slug).aggregate(
        count=Count("id"), first=Min("timestamp"), last=Max("timestamp")
    )
    return StreamDataSummary(**found)


def stream_data_bounds(*, stream_slug: str) -> tuple[datetime | None, datetime | None]:
    """The stream's first and last timestamps. With only MIN and MAX to compute, PostgreSQL reads each from one end
    of the (stream_slug, timestamp) index instead of scanning it."""
    found = StreamData.objects.filter(stream_slug=stream_slug).aggregate(first=Min("timestamp"), last=Max("timestamp"))
    return found["first"], found["last"]


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
        stream_data_window(stream_slug=stream.slug, start=start, end=end)
        .filter(value__isnull=False)
        .order_by(*DATA_ORDERING)
        .values_list("timestamp", "value")[: max_points + 1]
    )
    if len(readings) <= max_points:
        return StreamDataSeries(
            x=[timestamp.timestamp() for timestamp, _ in readings],
            values=[stream.output_value(value) for _, value in readings],
            lower=None,
            upper=None,
            bucket_seconds=None,
            count=len(readings),
        )
    width = series_bucket_seconds((end - start).total_seconds(), max_points)
    buckets = _series_buckets(stream_slug=stream.slug, start=start, end=end, width=width)
    x, values, lower, upper, count = [], [], [], [], 0
    # A unit conversion with a negative factor turns minima into maxima.
    m, d, _ = _output_factors(stream)
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


def _output_factors(stream: StreamId) -> tuple[float, float, float]:
    unit = stream.output_unit if stream.output_unit_id else None
    return (unit.m, unit.d, unit.o) if unit is not None else (1, 1, 0.0)


def _series_buckets(*, stream_slug: str, start: datetime, end: datetime, width: int) -> list[tuple]:
    """``(bucket, count, min, max, mean)`` per non-empty bucket, bucket ``k`` covering ``[k·width, (k+1)·width)``
    epoch seconds. One aggregate per bucket, each a range scan of the (stream_slug, timestamp) index: PostgreSQL
    cannot tell that a GROUP BY on the bucket follows the index order, and would sort the whole window instead."""
    connection = connections[router.db_for_read(StreamData)]
    table = connection.ops.quote_name(StreamData._meta.db_table)
    sql = f"""
        SELECT k, s.n, s.low, s.high, s.mean
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS k
        CROSS JOIN LATERAL (
            SELECT count(value) AS n, min(value) AS low, max(value) AS high, avg(value) AS mean
            FROM {table}
            WHERE stream_slug = %(stream)s
              AND timestamp >= greatest(%(start)s, to_timestamp(k * %(width)s))
              AND timestamp < least(%(end)s, to_timestamp((k + 1) * %(width)s))
        ) AS s
        WHERE s.n > 0
        ORDER BY k
    """
    params: dict[str, Any] = {
        "first": math.floor(start.timestamp() / width),
        "last": math.ceil(end.timestamp() / width) - 1,
        "stream": stream_slug,
        "start": start,
        "end": end,
        "width": width,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def stream_data_table_page(
    *,
    stream_slug: str,
    start: datetime | None = None,
    end: datetime | None = None,
    before: int | None = None,
    after: int | None = None,
    oldest: bool = False,
    size: int = 50,
) -> StreamDataTablePage:
    """A page of the window's rows, newest first, by keyset rather than offset so that any page of a long stream is
    one short index scan: the newest page, the page ``before`` (older than) or ``after`` (newer than) a row id, or
    the oldest page. One query."""
    window = stream_data_window(stream_slug=stream_slug, start=start, end=end)
    newest_first = ("-timestamp", "-id")
    if before is not None or after is not None:
        anchor_id = before if before is not None else after
        assert anchor_id is not None
        anchor = Subquery(StreamData.objects.filter(pk=anchor_id, stream_slug=stream_slug).values("timestamp")[:1])
        if before is not None:
            window = window.filter(Q(timestamp__lt=anchor) | Q(timestamp=anchor, id__lt=anchor_id))
            window = window.filter(timestamp__lte=anchor)
        else:
            window = window.filter(Q(timestamp__gt=anchor) | Q(timestamp=anchor, id__gt=anchor_id))
            window = window.filter(timestamp__gte=anchor)
    # Pages reached going forward in time are read oldest first, then turned round.
    forward = after is not None or (oldest and before is None)
    rows = list(window.order_by(*(DATA_ORDERING if forward else newest_first))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if forward:
        rows.reverse()
    if not rows:
        return StreamDataTablePage(rows=[], newer=None, older=None)
    if forward:
        newer, older = (rows[0].id if more else None), (None if oldest and after is None else rows[-1].id)
    else:
        newer, older = (rows[0].id if before is not None else None), (rows[-1].id if more else None)
    return StreamDataTablePage(rows=rows, newer=newer, older=older)
