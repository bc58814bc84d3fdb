"""A data table's pages, newest first, by keyset: any page of a long stream is one short index scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, Subquery

from server.apps.streamdata.models import StreamData
from server.apps.streamdata.selectors.rows import DATA_ORDERING, stream_data_window


@dataclass(frozen=True)
class StreamDataTablePage:
    """One page of a table listed newest first: ``newer`` and ``older`` are the row ids to page from (None at either
    end of the window)."""

    rows: list[StreamData]
    newer: int | None
    older: int | None


def stream_data_table_page(
    *,
    series: int,
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
    window = stream_data_window(series=series, start=start, end=end)
    newest_first = ("-timestamp", "-id")
    anchor_id = before if before is not None else after
    if anchor_id is not None:
        anchor = Subquery(StreamData.objects.filter(pk=anchor_id, series=series).values("timestamp")[:1])
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
