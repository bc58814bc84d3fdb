"""A stream's rows over a time window: the ``(stream_slug, timestamp)`` index range that every read of stream data is
made of. A window is half-open, ``[start, end)``, and None leaves that side open."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Count, Max, Min, Q, QuerySet

from server.apps.streamdata.filtersets import DATA_ORDERING
from server.apps.streamdata.models import StreamData

# A stream's time window: (stream slug, start, end).
Window = tuple[str, datetime | None, datetime | None]


@dataclass(frozen=True)
class StreamDataSummary:
    count: int
    first: datetime | None
    last: datetime | None


def _window(stream_slug: str, start: datetime | None, end: datetime | None) -> Q:
    condition = Q(stream_slug=stream_slug)
    if start is not None:
        condition &= Q(timestamp__gte=start)
    if end is not None:
        condition &= Q(timestamp__lt=end)
    return condition


def stream_data_for_streams(*, stream_slugs: Iterable[str]) -> QuerySet[StreamData]:
    """Every row of these streams, in time order."""
    return StreamData.objects.filter(stream_slug__in=list(stream_slugs)).order_by(*DATA_ORDERING)


def stream_data_window(
    *, stream_slug: str, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[StreamData]:
    """One stream's rows over ``[start, end)``, unordered."""
    return StreamData.objects.filter(_window(stream_slug, start, end))


def stream_data_windows(*, windows: Iterable[Window]) -> QuerySet[StreamData]:
    """The rows of several ``(stream slug, start, end)`` windows in one query, unordered: an ``OR`` of one index
    range per window. No windows, no rows (and no query)."""
    return StreamData.objects.filter(reduce(or_, (_window(*window) for window in windows), Q(pk__in=[])))


def stream_data_summary(*, stream_slug: str) -> StreamDataSummary:
    """How many readings the stream has, and its first and last timestamps: one scan of the stream's index."""
    found = StreamData.objects.filter(stream_slug=stream_slug).aggregate(
        count=Count("id"), first=Min("timestamp"), last=Max("timestamp")
    )
    return StreamDataSummary(**found)


def stream_data_bounds(
    *, stream_slug: str, start: datetime | None = None, end: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """The first and last timestamps of the stream's rows in ``[start, end)``. With only MIN and MAX to compute,
    PostgreSQL reads each from one end of the (stream_slug, timestamp) index range instead of scanning it."""
    found = stream_data_window(stream_slug=stream_slug, start=start, end=end).aggregate(
        first=Min("timestamp"), last=Max("timestamp")
    )
    return found["first"], found["last"]
