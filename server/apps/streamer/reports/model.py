"""What a parsed streamer report holds: its header, its readings (stored as columns) and its events.

Values are the device's raw values: stream ids are u16, reading ids, raw times and values are u32. Turning raw times
into UTC datetimes is the job of ``timestamps``; parsing never guesses a time.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, overload

from .errors import ReportFormatError

# A device that runs out of report space cuts the report near 192 KiB: such a report is "chopped", not complete.
CHOPPED_REPORT_LENGTH = 196608


class ReportFormat(StrEnum):
    """The report formats of ``iotile.core.hw.reports``, named as there."""

    INDIVIDUAL_READING = "IndividualReadingReport"
    SIGNED_LIST = "SignedListReport"
    FLEXIBLE_DICTIONARY = "FlexibleDictionaryReport"


class SignatureFlags(IntEnum):
    """How a SignedListReport is signed (its byte 16). Keyed reports are also encrypted."""

    HASH = 0
    USER_KEY = 1
    DEVICE_KEY = 2


def checked_id_range(lowest_id: int, highest_id: int, name: str) -> None:
    """Refuses a report whose lowest reading id is above its highest. The clients write the smallest and the largest
    of the ids their readings carry (0 and 0 when none carries one)."""
    if lowest_id > highest_id:
        raise ReportFormatError(f"{name}: the lowest reading id {lowest_id} is above the highest, {highest_id}")


@dataclass(frozen=True, slots=True)
class ReportHeader:
    """Everything about a report except its readings.

    ``signature_flags``, ``streamer_index`` and ``selector`` are None for an IndividualReadingReport, which has no
    signature and comes from no streamer.
    """

    format: ReportFormat
    length: int
    device_id: int
    report_id: int
    sent_timestamp: int
    signature_flags: SignatureFlags | None
    streamer_index: int | None
    selector: int | None
    lowest_id: int
    highest_id: int
    reading_count: int
    event_count: int = 0

    @property
    def incremental_id(self) -> int:
        return self.report_id

    @property
    def count(self) -> int:
        """What the upload answers as ``count``: the readings and events the report declares."""
        return self.reading_count + self.event_count

    @property
    def encrypted(self) -> bool:
        return self.signature_flags in (SignatureFlags.USER_KEY, SignatureFlags.DEVICE_KEY)

    @property
    def chopped(self) -> bool:
        """A SignedListReport cut short by the device because it reached its size limit."""
        return self.format is ReportFormat.SIGNED_LIST and CHOPPED_REPORT_LENGTH - self.length <= 16


@dataclass(frozen=True, slots=True)
class Reading:
    """One raw reading. ``timestamp`` is only set by dictionary reports, which may carry the time of each reading;
    their ``raw_time`` may then be None."""

    stream: int
    reading_id: int
    raw_time: int | None
    value: int
    timestamp: datetime.datetime | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a dictionary report: a summary (``extra_data``) and an optional, possibly large, ``data``."""

    stream: int
    reading_id: int
    raw_time: int | None
    timestamp: datetime.datetime | None
    extra_data: dict[str, Any] = field(default_factory=dict)
    data: Any = None


class ReadingTable(Sequence[Reading]):
    """Readings as parallel columns, so a report of a million readings holds four compact arrays, not a million
    objects. Indexing or iterating yields ``Reading`` objects for code that prefers them; the hot path reads the
    columns (``streams``, ``reading_ids``, ``raw_times``, ``values`` and, for dictionary reports, ``timestamps``)."""

    __slots__ = ("raw_times", "reading_ids", "streams", "timestamps", "values")

    def __init__(
        self,
        streams: Sequence[int],
        reading_ids: Sequence[int],
        raw_times: Sequence[int | None],
        values: Sequence[int],
        timestamps: Sequence[datetime.datetime | None] | None = None,
    ) -> None:
        size = len(streams)
        if not len(reading_ids) == len(raw_times) == len(values) == size or (
            timestamps is not None and len(timestamps) != size
        ):
            raise ValueError("reading columns must have the same length")
        self.streams = streams
        self.reading_ids = reading_ids
        self.raw_times = raw_times
        self.values = values
        self.timestamps = timestamps

    @classmethod
    def from_readings(cls, readings: Iterable[Reading]) -> ReadingTable:
        readings = list(readings)
        timestamps = [r.timestamp for r in readings]
        return cls(
            [r.stream for r in readings],
            [r.reading_id for r in readings],
            [r.raw_time for r in readings],
            [r.value for r in readings],
            timestamps if any(t is not None for t in timestamps) else None,
        )

    def __len__(self) -> int:
        return len(self.streams)

    @overload
    def __getitem__(self, index: int) -> Reading: ...
    @overload
    def __getitem__(self, index: slice) -> ReadingTable: ...
    def __getitem__(self, index: int | slice) -> Reading | ReadingTable:
        if isinstance(index, slice):
            return ReadingTable(
                self.streams[index],
                self.reading_ids[index],
                self.raw_times[index],
                self.values[index],
                None if self.timestamps is None else self.timestamps[index],
            )
        return Reading(
            self.streams[index],
            self.reading_ids[index],
            self.raw_times[index],
            self.values[index],
            None if self.timestamps is None else self.timestamps[index],
        )

    def __iter__(self) -> Iterator[Reading]:
        timestamps = self.timestamps if self.timestamps is not None else [None] * len(self)
        for row in zip(self.streams, self.reading_ids, self.raw_times, self.values, timestamps, strict=True):
            yield Reading(*row)

    def __repr__(self) -> str:
        return f"<ReadingTable of {len(self)} readings>"


@dataclass(frozen=True, slots=True)
class ParsedReport:
    """A decoded, verified (and if need be decrypted) report."""

    header: ReportHeader
    readings: ReadingTable
    events: list[Event] = field(default_factory=list)

    @property
    def format(self) -> ReportFormat:
        return self.header.format

    @property
    def format_name(self) -> str:
        return self.header.format.value
