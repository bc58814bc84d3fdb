"""Reads on stream aliases and their taps, already scoped to a user."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from server.apps.core.errors import ApplicationError
from server.apps.core.slugs import SlugError, alias_slug, parse_alias_slug
from server.apps.stream.models import StreamId
from server.apps.streamalias.models import StreamAlias, StreamAliasTap
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.selectors.rows import stream_data_bounds, stream_data_windows
from server.apps.streamdata.selectors.series import SERIES_MAX_POINTS, StreamDataSeries, stream_data_series


def alias_list(*, user, action: str = "view") -> QuerySet[StreamAlias]:
    return StreamAlias.objects.restrict(user, action).select_related("org", "created_by")


def alias_lookup(value: str | int) -> dict:
    """Filter keywords for an ``a--`` slug in any lenient form; raises ``SlugError``."""
    return {"slug": alias_slug(parse_alias_slug(value))}


def visible_alias(*, user, value: str, field: str = "alias") -> StreamAlias:
    """An alias named by a body field: malformed, unknown and out of scope are the same 400, revealing nothing."""
    try:
        lookup = alias_lookup(value)
    except SlugError as exc:
        raise ApplicationError(str(exc), {field: [str(exc)]}) from exc
    alias = alias_list(user=user).filter(**lookup).first()
    if alias is None:
        raise ApplicationError(f"Unknown stream alias '{value}'.", {field: [f"Unknown alias: {value}."]})
    return alias


def tap_list(*, user) -> QuerySet[StreamAliasTap]:
    return StreamAliasTap.objects.restrict(user, "view").select_related("alias", "stream", "created_by")


@dataclass(frozen=True)
class TapRange:
    """What an alias reads from one tap: ``stream``'s rows with ``start <= timestamp < end`` (``end`` None: on)."""

    stream: StreamId
    start: datetime
    end: datetime | None


def alias_tap_ranges(*, alias: StreamAlias) -> list[TapRange]:
    """The alias's taps as consecutive time ranges, oldest first, leaving out the gaps (taps on no stream). One
    query."""
    taps = list(
        StreamAliasTap.objects.filter(alias=alias)
        .select_related("stream", "stream__output_unit", "stream__variable", "stream__var_type", "stream__device")
        .order_by("timestamp")
    )
    return [
        TapRange(stream=tap.stream, start=tap.timestamp, end=taps[i + 1].timestamp if i + 1 < len(taps) else None)
        for i, tap in enumerate(taps)
        if tap.stream is not None  # a gap: nothing is read until the next tap
    ]


def alias_data_rows(*, ranges: list[TapRange]) -> QuerySet[StreamData]:
    """The rows an alias reads over its ``ranges`` (:func:`alias_tap_ranges`), unordered, in one query whatever the
    number of taps: each tap's stream over its time range (``data/?filter=a--…`` and the alias page read these)."""
    return stream_data_windows(windows=[(tap.stream.series, tap.start, tap.end) for tap in ranges])


def alias_data_bounds(*, ranges: list[TapRange]) -> tuple[datetime | None, datetime | None]:
    """The first and last timestamps the alias reads: one MIN/MAX per tap, each read from the ends of that tap's
    index range."""
    first: datetime | None = None
    last: datetime | None = None
    for tap in ranges:
        tap_first, tap_last = stream_data_bounds(series=tap.stream.series, start=tap.start, end=tap.end)
        if tap_first is not None:
            assert tap_last is not None, "MIN and MAX over the same rows are both null or neither"
            first = tap_first if first is None else min(first, tap_first)
            last = tap_last if last is None else max(last, tap_last)
    return first, last


def alias_data_series(*, ranges: list[TapRange], start: datetime, end: datetime) -> StreamDataSeries:
    """The alias's chart over ``[start, end)``: each tap's part of the window drawn by the stream page's selector
    (``streamdata.selectors.series.stream_data_series``, values in that stream's output unit) with a share of the points
    in proportion to its part of the window, so every part gets about the same bucket width. Raw readings and
    buckets can then sit side by side: the result has a band (min, max) when any part was downsampled, and a
    ``bucket_seconds`` only when every part used the same one. Two queries per tap in the window at most."""
    span = max((end - start).total_seconds(), 1)
    x, values, lower, upper, count, widths = [], [], [], [], 0, set()
    for tap in ranges:
        left = max(tap.start, start)
        right = end if tap.end is None else min(tap.end, end)
        if left >= right:
            continue
        share = max(2, math.ceil(SERIES_MAX_POINTS * (right - left).total_seconds() / span))
        series = stream_data_series(stream=tap.stream, start=left, end=right, max_points=share)
        x += series.x
        values += series.values
        lower += series.lower if series.lower is not None else series.values
        upper += series.upper if series.upper is not None else series.values
        count += series.count
        widths.add(series.bucket_seconds)
    bucketed = any(widths)
    return StreamDataSeries(
        x=x,
        values=values,
        lower=lower if bucketed else None,
        upper=upper if bucketed else None,
        bucket_seconds=widths.pop() if len(widths) == 1 and bucketed else None,
        count=count,
    )
