"""The ingest rules that turn a parsed report into rows to write: selector checks, de-duplication, times, reboots.

Decisions, from the references (iotile_cloud.md §5, iotile_clients.md §4):

- **Selectors.** Bit 11 (0x800) of a streamer selector marks a system streamer (0x5FFF, and 0xFFFF "everything");
  bit 15 asks for reboot ("break") readings alongside user data (0xD7FF). A user streamer without breaks (0x57FF)
  is refused with ReportRejectedError: without reboot readings its uptime times cannot be placed, and storing
  wrong times silently is worse than a clear refusal. ``check_selector`` is cheap, so the upload checks it too.
- **De-duplication.** Readings and events whose id is at or below the streamer's ``last_id`` were stored before and
  are dropped (and counted). Id 0 means "no id" (an IndividualReadingReport, a dictionary item without one): such
  items cannot be matched against ``last_id`` and are kept.
- **Order.** Readings are processed and returned in reading-id order, which is the order the device made them in;
  a device already sends them that way, so usually nothing moves.
- **Times.** See ``timestamps``: binary reports are placed by uptime with reboot reconstruction, dictionary reports
  by the times their items carry.
- **Reboot readings** (stream 0x5C00) mark where times restart. A user streamer (selector without bit 11) carries
  them only for that purpose: they are used for the times, then removed; the system streamer stores them.
- **Ids.** ``first_id``/``last_id`` are the lowest and highest ids kept (0 when none); the streamer's ``last_id``
  should move to at least the header's ``highest_id`` so the device stops resending.
"""

from __future__ import annotations

import datetime
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ReportRejectedError
from .model import ParsedReport, ReportFormat, ReportHeader
from .timestamps import (
    REBOOT_STREAM,
    TimedReadings,
    Times,
    as_utc,
    time_base,
    timestamps_from_items,
    timestamps_from_uptime,
)

SYSTEM_SELECTOR_BIT = 0x800
BREAKS_SELECTOR_BIT = 0x8000
REJECTED_SELECTORS = {
    0x57FF: "selector 0x57FF (user outputs without reboot readings) cannot be timed; the device must stream with "
    "0xD7FF (user outputs and reboots)"
}

# A column of a report's readings: an array (as parsed) or a list (once sorted or cut), sliced and joined alike,
# holding one type per column (stream numbers, ids, times, values, statuses).
Column = Any


def is_system_selector(selector: int) -> bool:
    return bool(selector & SYSTEM_SELECTOR_BIT)


def check_selector(selector: int | None, name: str = "report") -> None:
    """Refuse the selectors whose reports cannot be ingested correctly."""
    if selector in REJECTED_SELECTORS:
        raise ReportRejectedError(f"{name}: {REJECTED_SELECTORS[selector]}")


@dataclass(frozen=True, slots=True)
class TimedEvent:
    stream: int
    reading_id: int
    device_timestamp: int | None
    timestamp: datetime.datetime
    status: str
    dirty_ts: bool
    extra_data: dict[str, Any]
    data: Any


@dataclass(frozen=True, slots=True)
class PreparedReport:
    """What the worker writes: new readings and events with their times, and figures for the report record."""

    header: ReportHeader
    readings: TimedReadings
    events: list[TimedEvent]
    time_base: datetime.datetime
    dropped_readings: int
    dropped_events: int
    removed_reboots: int
    reboot_ids: list[int]
    last_reboot_timestamp: datetime.datetime | None

    @property
    def first_id(self) -> int:
        ids = self.readings.reading_ids  # in id order
        position = bisect_right(ids, 0)
        candidates = [ids[position]] if position < len(ids) else []
        candidates += [event.reading_id for event in self.events if event.reading_id]
        return min(candidates, default=0)

    @property
    def last_id(self) -> int:
        return max(max(self.readings.reading_ids, default=0), max((e.reading_id for e in self.events), default=0))


def prepare_report(
    report: ParsedReport,
    *,
    received_time: datetime.datetime,
    last_id: int = 0,
    previous_time_base: datetime.datetime | None = None,
) -> PreparedReport:
    """Apply the ingest rules to a parsed report.

    ``received_time`` is when the server got the report (naive means UTC); ``last_id`` the streamer's highest stored
    id; ``previous_time_base`` the previous successful report's ``received_time - sent_timestamp`` if known.
    """
    header = report.header
    check_selector(header.selector)
    received_time = as_utc(received_time)
    table = report.readings
    columns: list[Column] = [table.streams, table.reading_ids, table.raw_times, table.values]
    if table.timestamps is not None:
        columns.append(table.timestamps)
    columns, dropped_readings = _new_in_id_order(columns, last_id)
    streams, reading_ids, raw_times, values = columns[:4]

    try:
        times = _reading_times(report, columns, received_time, previous_time_base)
        events, dropped_events = _new_events(report, last_id, received_time)
        base = time_base(received_time, header.sent_timestamp)
    except OverflowError:
        raise _timed_out_of_range(header, received_time) from None
    if not times.timestamps.representable():
        raise _timed_out_of_range(header, received_time)

    reboots = _positions(streams, REBOOT_STREAM)
    reboot_ids = [reading_ids[i] for i in reboots]
    last_reboot_timestamp = times.timestamps[reboots[-1]] if reboots else None
    output: list[Column] = [streams, reading_ids, raw_times, times.timestamps, values, times.statuses, times.dirty]
    removed_reboots = 0
    if reboots and header.selector is not None and not is_system_selector(header.selector):
        output = [_without(column, reboots) for column in output]
        removed_reboots = len(reboots)

    return PreparedReport(
        header=header,
        readings=TimedReadings(*output),
        events=events,
        time_base=base,
        dropped_readings=dropped_readings,
        dropped_events=dropped_events,
        removed_reboots=removed_reboots,
        reboot_ids=reboot_ids,
        last_reboot_timestamp=last_reboot_timestamp,
    )


def _new_in_id_order(columns: list[Column], last_id: int) -> tuple[list[Column], int]:
    """Sort the columns by reading id (only if needed) and drop ids in 1..last_id."""
    ids = columns[1]
    size = len(ids)
    if _is_sorted(ids):
        without_id = bisect_right(ids, 0)
        cut = max(without_id, bisect_right(ids, last_id))
        if cut == without_id:
            return columns, 0
        return [column[:without_id] + column[cut:] for column in columns], cut - without_id
    order = sorted(range(size), key=ids.__getitem__)
    order = [i for i in order if ids[i] == 0 or ids[i] > last_id]
    return [[column[i] for i in order] for column in columns], size - len(order)


def _timed_out_of_range(header: ReportHeader, received_time: datetime.datetime) -> ReportRejectedError:
    """A received time far off (a year 1 or 9999 ``?timestamp=``) would place readings where no datetime reaches:
    the report fails with the reason rather than breaking the worker or every later read of the stream."""
    return ReportRejectedError(
        f"the report's readings would be timed outside the years 1 to 9999 (received {received_time.isoformat()}, "
        f"sent at uptime {header.sent_timestamp} s): check the upload's ?timestamp="
    )


def _reading_times(
    report: ParsedReport,
    columns: list[Column],
    received_time: datetime.datetime,
    previous_time_base: datetime.datetime | None,
) -> Times:
    """The readings' times: by the items' own times for a dictionary report, by uptime and reboots otherwise."""
    streams, _, raw_times, values = columns[:4]
    if report.header.format is ReportFormat.FLEXIBLE_DICTIONARY:
        return timestamps_from_items(
            raw_times,
            columns[4] if len(columns) > 4 else None,
            received_time=received_time,
            sent_timestamp=report.header.sent_timestamp,
        )
    return timestamps_from_uptime(
        streams,
        raw_times,
        values,
        received_time=received_time,
        sent_timestamp=report.header.sent_timestamp,
        previous_time_base=previous_time_base,
    )


def _new_events(report: ParsedReport, last_id: int, received_time: datetime.datetime) -> tuple[list[TimedEvent], int]:
    events = [event for event in report.events if event.reading_id == 0 or event.reading_id > last_id]
    times = timestamps_from_items(
        [event.raw_time for event in events],
        [event.timestamp for event in events],
        received_time=received_time,
        sent_timestamp=report.header.sent_timestamp,
    )
    timed = [
        TimedEvent(
            stream=event.stream,
            reading_id=event.reading_id,
            device_timestamp=event.raw_time,
            timestamp=timestamp,
            status=status,
            dirty_ts=dirty,
            extra_data=event.extra_data,
            data=event.data,
        )
        for event, timestamp, status, dirty in zip(events, times.timestamps, times.statuses, times.dirty, strict=True)
    ]
    return timed, len(report.events) - len(events)


def _is_sorted(ids: Sequence[int]) -> bool:
    # sorted() of an already sorted column is a single C-speed pass.
    return list(ids) == sorted(ids)


def _positions(column: Sequence[int], value: int) -> list[int]:
    positions: list[int] = []
    position = 0
    while True:
        try:
            position = column.index(value, position)
        except ValueError:
            return positions
        positions.append(position)
        position += 1


def _without(column: Column, positions: list[int]) -> Column:
    """The column without the rows at ``positions`` (ascending), joined from slices."""
    pieces = []
    start = 0
    for position in positions:
        pieces.append(column[start:position])
        start = position + 1
    pieces.append(column[start:])
    result = pieces[0]
    for piece in pieces[1:]:
        result += piece
    return result
