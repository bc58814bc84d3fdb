"""A stream's rows over a time window: the ``(series, timestamp)`` index range that every read of stream data is made
of. A stream's rows are those of its ``StreamId.series``. A window is half-open, ``[start, end)``, and None leaves that
side open."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Count, Max, Min, Q, QuerySet

from server.apps.streamdata.filtersets import DATA_ORDERING
from server.apps.streamdata.models import StreamData

# A stream's time window: (series id, start, end).
Window = tuple[int, datetime | None, datetime | None]


@dataclass(frozen=True)
class StreamDataSummary:
    count: int
    first: datetime | None
    last: datetime | None


def _window(series: int, start: datetime | None, end: datetime | None) -> Q:
    condition = Q(series=series)
    if start is not None:
        condition &= Q(timestamp__gte=start)
    if end is not None:
        condition &= Q(timestamp__lt=end)
    return condition


def stream_data_for_series(*, series: Iterable[int]) -> QuerySet[StreamData]:
    """Every row of these series, in time order."""
    return StreamData.objects.filter(series__in=list(series)).order_by(*DATA_ORDERING)


def stream_data_window(
    *, series: int, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[StreamData]:
    """One series' rows over ``[start, end)``, unordered."""
    return StreamData.objects.filter(_window(series, start, end))


def stream_data_windows(*, windows: Iterable[Window]) -> QuerySet[StreamData]:
    """The rows of several ``(series, start, end)`` windows in one query, unordered: an ``OR`` of one index
    range per window. No windows, no rows (and no query)."""
    return StreamData.objects.filter(reduce(or_, (_window(*window) for window in windows), Q(pk__in=[])))


def stream_data_summary(*, series: int) -> StreamDataSummary:
    """How many readings the series has, and its first and last timestamps: one scan of its index range."""
    found = StreamData.objects.filter(series=series).aggregate(
        count=Count("id"), first=Min("timestamp"), last=Max("timestamp")
    )
    return StreamDataSummary(**found)


def stream_data_bounds(
    *, series: int, start: datetime | None = None, end: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """The first and last timestamps of the series' rows in ``[start, end)``. With only MIN and MAX to compute,
    PostgreSQL reads each from one end of the (series, timestamp) index range instead of scanning it."""
    found = stream_data_window(series=series, start=start, end=end).aggregate(
        first=Min("timestamp"), last=Max("timestamp")
    )
    return found["first"], found["last"]
