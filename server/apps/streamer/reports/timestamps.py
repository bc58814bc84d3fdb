"""Turning a reading's raw device time into a UTC timestamp.

A device stamps each reading with a u32 ``raw_time``:

- **RTC**: bit 31 set (and not 0xFFFFFFFF): seconds since 2000-01-01 UTC in the low 31 bits. Status ``utc``.
- **Uptime**: seconds since the device booted. The report's ``sent_timestamp`` is the uptime when the device sent
  it, so the boot happened at ``base = received_time - sent_timestamp`` and the reading at ``base + raw_time``.
  Status ``cln``.
- **0xFFFFFFFF** means "unknown". Decision: such a reading keeps the time the report was received, status ``unk``
  and ``dirty_ts``; it is not dropped, because its value is still real.

**Reboots.** A reboot restarts uptime at 0, so ``base`` is only right for readings after the last reboot in the
report. Reboots are the readings of stream 0x5C00 (the break stream iotile-core's UTC assigner knows). In reading-id
order they cut the report into blocks, each starting with its reboot reading. Walking backwards:

- the last block uses ``base``: ``cln``;
- each earlier block is re-based so that its latest uptime reading falls 1 s before the next block's first
  timestamp. The gap the device was off is unknown, so these rows are ``drt`` with ``dirty_ts``;
- the left-most block may instead use the previous report's base (its ``received_time - sent_timestamp``) when the
  caller passes it: the device sent that report during the same boot session, so the times are exact (``cln``).
  Decision: the previous base is only used when it keeps the block before the next one; otherwise the block is
  re-based and dirty as above, because a base from another session would put readings after later ones.

RTC readings keep their clock time in every block. A block's start is the earliest of its uptime readings' times
(or of its clock times when it has only those).

**Trips.** Readings of the trip start and end streams (0x0E00, 0x0E01) carry the phone's Unix time in their value;
that value is their timestamp (``utc``) when it is set.

**Dictionary reports** carry times per item (``timestamps_from_items``): an RTC device time wins (``utc``), then
the item's ISO timestamp (``cln``), then an uptime device time with the report's base (``cln``), else the received
time (``unk``, dirty). No reboot reconstruction: the uploader (a phone or gateway) assigned the times.
"""

from __future__ import annotations

import datetime
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from operator import add, mul
from typing import NamedTuple

STATUS_CLEAN = "cln"
STATUS_DIRTY = "drt"
STATUS_UTC = "utc"
STATUS_UNKNOWN = "unk"

REBOOT_STREAM = 0x5C00
TRIP_START_STREAM = 0x0E00
TRIP_END_STREAM = 0x0E01
TRIP_STREAMS = frozenset((TRIP_START_STREAM, TRIP_END_STREAM))
RTC_FLAG = 1 << 31
UNKNOWN_RAW_TIME = 0xFFFFFFFF

Y2K = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
UNIX_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
ONE_SECOND = datetime.timedelta(seconds=1)
_timedelta = datetime.timedelta


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """An aware UTC datetime; a naive one is taken to be UTC (the upload's ``?timestamp=`` is naive UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def time_base(received_time: datetime.datetime, sent_timestamp: int) -> datetime.datetime:
    """When the device booted, given when its report arrived and its uptime when it sent it."""
    return as_utc(received_time) - _timedelta(seconds=sent_timestamp)


def is_rtc(raw_time: int) -> bool:
    return raw_time != UNKNOWN_RAW_TIME and bool(raw_time & RTC_FLAG)


def rtc_to_datetime(raw_time: int) -> datetime.datetime:
    return Y2K + _timedelta(seconds=raw_time & ~RTC_FLAG)


ONE_MICROSECOND = _timedelta(microseconds=1)
MICROSECONDS = 1_000_000
UNIX_EPOCH_MICROS = (UNIX_EPOCH - Y2K) // ONE_MICROSECOND


def micros_since_y2k(moment: datetime.datetime) -> int:
    """An aware datetime as microseconds since 2000-01-01 UTC, the epoch of the device clock (and PostgreSQL's)."""
    return (moment - Y2K) // ONE_MICROSECOND


# The times a datetime holds (the years 1 to 9999). PostgreSQL would store later ones, but no read could return them.
MIN_MICROS = micros_since_y2k(datetime.datetime.min.replace(tzinfo=datetime.UTC))
MAX_MICROS = micros_since_y2k(datetime.datetime.max.replace(tzinfo=datetime.UTC))


class Timestamps(Sequence[datetime.datetime]):
    """A column of UTC times kept as microseconds since 2000-01-01 in an ``array``, made into datetimes only when
    read. A million readings then cost 8 MB and no datetime objects, and the write path sends the integers as they
    are (PostgreSQL's binary timestamps count from the same epoch)."""

    __slots__ = ("micros",)

    def __init__(self, micros: Iterable[int] = ()) -> None:
        self.micros = micros if isinstance(micros, array) else array("q", micros)

    def __len__(self) -> int:
        return len(self.micros)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Timestamps(self.micros[index])
        return Y2K + _timedelta(microseconds=self.micros[index])

    def representable(self) -> bool:
        """Whether every time is one a datetime can hold (times computed as integers may run past the year 9999)."""
        return not self.micros or (min(self.micros) >= MIN_MICROS and max(self.micros) <= MAX_MICROS)

    def __add__(self, other: Timestamps) -> Timestamps:
        return Timestamps(self.micros + other.micros)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timestamps):
            return self.micros == other.micros
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Timestamps({list(self)!r})"


class TimedReading(NamedTuple):
    stream: int
    reading_id: int
    device_timestamp: int | None
    timestamp: datetime.datetime
    int_value: int
    status: str
    dirty_ts: bool


class TimedReadings(Sequence[TimedReading]):
    """Readings with their UTC times, as parallel columns ready for a bulk write."""

    __slots__ = ("device_timestamps", "dirty", "int_values", "reading_ids", "statuses", "streams", "timestamps")

    def __init__(
        self,
        streams: Sequence[int],
        reading_ids: Sequence[int],
        device_timestamps: Sequence[int | None],
        timestamps: Sequence[datetime.datetime],
        int_values: Sequence[int],
        statuses: Sequence[str],
        dirty: Sequence[bool],
    ) -> None:
        self.streams = streams
        self.reading_ids = reading_ids
        self.device_timestamps = device_timestamps
        self.timestamps = timestamps
        self.int_values = int_values
        self.statuses = statuses
        self.dirty = dirty

    def __len__(self) -> int:
        return len(self.streams)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return TimedReadings(*(column[index] for column in self._columns()))
        return TimedReading(*(column[index] for column in self._columns()))

    def __iter__(self) -> Iterator[TimedReading]:
        return map(TimedReading._make, zip(*self._columns(), strict=True))

    def take(self, positions: Sequence[int]) -> TimedReadings:
        """The readings at ``positions``, as columns again (a ``Timestamps`` column stays one: no datetimes made)."""

        def pick(column: Sequence) -> Sequence:
            if isinstance(column, Timestamps):
                micros = column.micros
                return Timestamps(micros[i] for i in positions)
            return [column[i] for i in positions]

        return TimedReadings(*map(pick, self._columns()))

    def _columns(self) -> tuple[Sequence, ...]:
        return (
            self.streams,
            self.reading_ids,
            self.device_timestamps,
            self.timestamps,
            self.int_values,
            self.statuses,
            self.dirty,
        )

    def __repr__(self) -> str:
        return f"<TimedReadings of {len(self)} readings>"


class Times(NamedTuple):
    timestamps: Timestamps
    statuses: list[str]
    dirty: list[bool]


def timestamps_from_uptime(
    streams: Sequence[int],
    raw_times: Sequence[int],
    values: Sequence[int],
    *,
    received_time: datetime.datetime,
    sent_timestamp: int,
    previous_time_base: datetime.datetime | None = None,
) -> Times:
    """Times for a binary report's readings, which must be in reading-id order (reboot rows included)."""
    received_time = as_utc(received_time)
    base = time_base(received_time, sent_timestamp)
    size = len(raw_times)
    timestamps = array("q", [micros_since_y2k(received_time)]) * size
    statuses = [STATUS_CLEAN] * size
    dirty = [False] * size

    if previous_time_base is not None:
        previous_time_base = as_utc(previous_time_base)
    boundary: datetime.datetime | None = None  # the start of the block to the right
    blocks = _blocks(streams)
    for number in range(len(blocks) - 1, -1, -1):
        start, end = blocks[number]
        block_raws = raw_times[start:end]
        plain = max(block_raws) < RTC_FLAG and not _has_trip(streams, start, end)
        if plain:
            uptimes = block_raws
        else:
            uptimes = [raw_times[i] for i in range(start, end) if _is_uptime(streams[i], raw_times[i], values[i])]
        if number == len(blocks) - 1 or not uptimes:
            block_base, status = base, STATUS_CLEAN
        else:
            block_base, status = _earlier_block_base(
                max(uptimes), boundary, base, previous_time_base if number == 0 else None
            )
        is_dirty = status == STATUS_DIRTY

        if plain:
            timestamps[start:end] = _offsets(micros_since_y2k(block_base), block_raws)
            if is_dirty:
                statuses[start:end] = repeat(STATUS_DIRTY, end - start)
                dirty[start:end] = repeat(True, end - start)
        else:
            _mixed_block(
                start,
                end,
                streams,
                raw_times,
                values,
                micros_since_y2k(block_base),
                status,
                is_dirty,
                timestamps,
                statuses,
                dirty,
            )

        if uptimes:
            boundary = block_base + _timedelta(seconds=min(uptimes))
        else:
            clock_times = [timestamps[i] for i in range(start, end) if statuses[i] == STATUS_UTC]
            if clock_times:
                boundary = Y2K + _timedelta(microseconds=min(clock_times))
    return Times(Timestamps(timestamps), statuses, dirty)


def timestamps_from_items(
    raw_times: Sequence[int | None],
    item_timestamps: Sequence[datetime.datetime | None] | None,
    *,
    received_time: datetime.datetime,
    sent_timestamp: int,
) -> Times:
    """Times for the readings or events of a dictionary report, one item at a time."""
    received_time = as_utc(received_time)
    base = time_base(received_time, sent_timestamp)
    items: Iterable[datetime.datetime | None] = repeat(None) if item_timestamps is None else item_timestamps
    times = Times(Timestamps(), [], [])
    for raw_time, item_time in zip(raw_times, items, strict=False):
        if raw_time is not None and is_rtc(raw_time):
            moment, status = rtc_to_datetime(raw_time), STATUS_UTC
        elif item_time is not None:
            moment, status = item_time, STATUS_CLEAN
        elif raw_time is not None and raw_time != UNKNOWN_RAW_TIME:
            moment, status = base + _timedelta(seconds=raw_time), STATUS_CLEAN
        else:
            moment, status = received_time, STATUS_UNKNOWN
        times.timestamps.micros.append(micros_since_y2k(as_utc(moment)))
        times.statuses.append(status)
        times.dirty.append(status == STATUS_UNKNOWN)
    return times


def _earlier_block_base(
    latest: int,
    boundary: datetime.datetime | None,
    base: datetime.datetime,
    previous_time_base: datetime.datetime | None,
) -> tuple[datetime.datetime, str]:
    """The base of a boot session that ended before the next block: the previous report's base when it keeps the
    block before the next one, else the base that ends it 1 s before the next block starts."""
    if boundary is None:
        return base, STATUS_DIRTY
    if previous_time_base is not None and previous_time_base + _timedelta(seconds=latest) < boundary:
        return previous_time_base, STATUS_CLEAN
    return boundary - ONE_SECOND - _timedelta(seconds=latest), STATUS_DIRTY


def _blocks(streams: Sequence[int]) -> list[tuple[int, int]]:
    """[start, end) ranges split before each reboot reading; found with C-speed ``index`` calls."""
    cuts = [0]
    position = 0
    while True:
        try:
            position = streams.index(REBOOT_STREAM, position)
        except ValueError:
            break
        if position:
            cuts.append(position)
        position += 1
    cuts.append(len(streams))
    return [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1) if cuts[i] < cuts[i + 1]]


def _offsets(base_micros: int, raw_times: Sequence[int]) -> array:
    """``base + raw_time`` for each raw time, in microseconds since 2000-01-01 (C-speed maps, no datetimes)."""
    return array("q", map(add, repeat(base_micros), map(mul, raw_times, repeat(MICROSECONDS))))


def _is_uptime(stream: int, raw_time: int, value: int) -> bool:
    return raw_time < RTC_FLAG and not _is_trip_time(stream, value)


def _is_trip_time(stream: int, value: int) -> bool:
    return stream in TRIP_STREAMS and value not in (0, UNKNOWN_RAW_TIME)


def _has_trip(streams: Sequence[int], start: int, end: int) -> bool:
    block = streams[start:end]
    return TRIP_START_STREAM in block or TRIP_END_STREAM in block


def _mixed_block(start, end, streams, raw_times, values, base_micros, status, is_dirty, timestamps, statuses, dirty):
    """The slow path: a block with clock times, trip readings or unknown times among its uptime readings. Times are
    microseconds since 2000-01-01."""
    for i in range(start, end):
        raw_time = raw_times[i]
        if _is_trip_time(streams[i], values[i]):
            timestamps[i] = UNIX_EPOCH_MICROS + values[i] * MICROSECONDS
            statuses[i] = STATUS_UTC
        elif raw_time == UNKNOWN_RAW_TIME:
            statuses[i] = STATUS_UNKNOWN
            dirty[i] = True  # keeps the received time
        elif raw_time & RTC_FLAG:
            timestamps[i] = (raw_time & ~RTC_FLAG) * MICROSECONDS
            statuses[i] = STATUS_UTC
        else:
            timestamps[i] = base_micros + raw_time * MICROSECONDS
            statuses[i] = status
            dirty[i] = is_dirty
