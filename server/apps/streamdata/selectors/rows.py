"""A stream's rows over a time window: the ``(series, timestamp)`` index range that every read of stream data is made
of. A stream's rows are those of its ``StreamId.series``. A window is half-open, ``[start, end)``, and None leaves that
side open."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from django.db import connections
from django.db.models import Count, Max, Min, Q, QuerySet

from server.apps.streamdata.models import StreamData

# The order rows are listed in: by time, and rows of the same time by id.
DATA_ORDERING = ("timestamp", "id")
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
    """How many readings the series has, and its first and last timestamps: one scan of its index range. ``COUNT(*)``
    rather than the primary key's count (the same number: it is never null), so PostgreSQL can answer from the
    ``(series, timestamp)`` index alone where the table is vacuumed, without reading each row."""
    found = StreamData.objects.filter(series=series).aggregate(
        count=Count("*"), first=Min("timestamp"), last=Max("timestamp")
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


def newest_first(queryset: QuerySet[StreamData], columns: Iterable[str]) -> QuerySet[StreamData]:
    """The rows newest first, as tuples of ``columns`` and the ordering columns: what :class:`NewestRows` reads the
    newest N of."""
    columns = tuple(columns)
    inner = (*columns, *(field for field in DATA_ORDERING if field not in columns))
    return queryset.order_by(*(f"-{field}" for field in DATA_ORDERING)).values_list(*inner)


class NewestRows:
    """The newest ``count`` rows of ``queryset`` by ``DATA_ORDERING``, listed oldest first as tuples of ``columns``;
    sliced and counted as Django's paginator does, or iterated whole.

    One query: the newest rows are read from the end of their ``(series, timestamp)`` index range, then put back in
    time order, ``SELECT … FROM (the newest N) ORDER BY timestamp, id``. (A filter ``id IN (the newest N ids)``
    would look each row up once more by its id.) ``newest_first`` gives the inner statement; it may be compiled once
    and run with other values (``core.compiled``, as the stream-data lists do), or compiled each time
    (:meth:`of_queryset`)."""

    def __init__(
        self,
        using: str,
        newest: tuple[str, list[Any]],
        count: int,
        columns: Iterable[str],
        computed: Mapping[str, tuple[str, Sequence[Any]]] | None = None,
    ) -> None:
        """``newest``: the SQL and parameters of ``newest_first`` of the rows, without a limit. ``computed``: columns
        written by SQL (and its parameters) over the newest rows' own columns, such as the stream-data lists'
        ``json_tail``: worked out for the N rows once they are chosen, and not carried through the sorts (the
        inner statement selects the plain columns they read)."""
        self.columns = tuple(columns)
        self.using = using
        self.computed = dict(computed or {})
        sql, params = newest
        self.newest_sql, self.params = f"({sql} LIMIT %s) AS newest", [*params, count]

    @classmethod
    def of_queryset(cls, queryset: QuerySet[StreamData], count: int, columns: Iterable[str]) -> NewestRows:
        columns = tuple(columns)
        newest = newest_first(queryset, columns)
        sql, params = newest.query.sql_with_params()
        return cls(newest.db, (sql, list(params)), count, columns)

    def _select(
        self, select: tuple[str, list[Any]], tail: str = "", tail_params: Iterable[Any] = ()
    ) -> list[tuple[Any, ...]]:
        sql, params = select
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"SELECT {sql} FROM {self.newest_sql}{tail}", [*params, *self.params, *tail_params])
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    def _ordered(self) -> str:
        return " ORDER BY " + ", ".join(f'newest."{field}"' for field in DATA_ORDERING)

    def count(self) -> int:
        return int(self._select(("count(*)", []))[0][0])

    def __getitem__(self, key: slice) -> list[tuple[Any, ...]]:
        if not isinstance(key, slice) or key.step is not None:
            raise TypeError("NewestRows are read by slices without a step")
        start = key.start or 0
        tail = f"{self._ordered()} OFFSET %s"
        params = [start]
        if key.stop is not None:
            tail += " LIMIT %s"
            params.append(max(0, key.stop - start))
        return self._select(self._columns(), tail, params)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._select(self._columns(), self._ordered()))

    def iterator(self, chunk_size: int | None = None) -> Iterator[tuple[Any, ...]]:
        """As a queryset's ``iterator()``: the rows are read at once (there are at most ``LASTN_LIMIT``)."""
        return iter(self)

    def _columns(self) -> tuple[str, list[Any]]:
        selected: list[str] = []
        params: list[Any] = []
        for column in self.columns:
            if column in self.computed:
                sql, computed_params = self.computed[column]
                selected.append(f'({sql}) AS "{column}"')
                params += computed_params
            else:
                selected.append(f'newest."{column}"')
        return ", ".join(selected), params
