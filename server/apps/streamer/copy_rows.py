"""Stream-data rows encoded for PostgreSQL's binary ``COPY``, produced lazily in chunks.

The binary format (PostgreSQL docs, "COPY … Binary Format") is a fixed header, then per row a 16-bit field count
and, per field, a 32-bit length (-1 for NULL) and the value in network order: ``varchar`` as its bytes, ``bigint``
as 8 bytes, ``double precision`` as an IEEE double, ``timestamptz`` as microseconds since 2000-01-01 UTC, ``boolean``
as one byte. It spares the server from parsing text, and it lets Python build each row with one ``struct`` call:

- ``series`` (the stream's series id) and ``type`` depend only on the row's stream, so they are one prebuilt byte
  string per stream (the *prefix*);
- ``status`` and ``dirty_ts`` take four combinations, prebuilt too (the *suffix*);
- the five numbers in between are packed per row.

Chunks are made as ``COPY`` asks for them, so formatting in Python overlaps with the server's work.
"""

from __future__ import annotations

import datetime
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from operator import eq, floordiv, sub

from server.apps.streamer.reports.timestamps import TimedReadings, Timestamps

COPY_COLUMNS = (
    "series",
    "type",
    "device_timestamp",
    "timestamp",
    "streamer_local_id",
    "int_value",
    "value",
    "status",
    "dirty_ts",
)
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
ROWS_PER_CHUNK = 2_000

PG_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
ONE_MICROSECOND = datetime.timedelta(microseconds=1)
_NULL = struct.pack(">i", -1)
_INT8 = struct.Struct(">iq")
# Five numbers: device_timestamp, timestamp, streamer_local_id, int_value (bigint) and value (double), each with its
# 8-byte length in front.
_NUMBERS = ">iqiqiqiqid"
_AFTER_DEVICE_TIMESTAMP = ">iqiqiqid"


def _text_field(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


@dataclass(frozen=True, slots=True)
class StreamColumns:
    """The columns that are the same for every row of one stream."""

    series: int
    data_type: str

    def prefix(self) -> bytes:
        """The bytes that start each of the stream's rows: the field count and these columns."""
        return struct.pack(">hii", len(COPY_COLUMNS), 4, self.series) + _text_field(self.data_type)


def row_suffix(status: str, dirty: bool) -> bytes:
    return _text_field(status) + struct.pack(">ib", 1, dirty)


def to_microseconds(timestamps: Sequence[datetime.datetime]) -> Iterable[int]:
    """Times as PostgreSQL's internal timestamptz value, microseconds since 2000-01-01: a ``Timestamps`` column
    holds them already; datetimes go through C-speed maps, no per-row Python code."""
    if isinstance(timestamps, Timestamps):
        return timestamps.micros
    return map(floordiv, map(sub, timestamps, repeat(PG_EPOCH)), repeat(ONE_MICROSECOND))


class CopyRows:
    """A report's timed readings with their stored values and the per-stream columns, ready to stream through
    ``COPY … (FORMAT binary)``. ``values`` is parallel to the readings (float, or the raw int where no conversion
    applies); ``stream_columns`` has an entry for every stream of the readings."""

    __slots__ = ("readings", "stream_columns", "values")

    def __init__(
        self, *, readings: TimedReadings, values: Sequence[float], stream_columns: Mapping[int, StreamColumns]
    ) -> None:
        self.readings = readings
        self.values = values
        self.stream_columns = stream_columns

    def __len__(self) -> int:
        return len(self.readings)

    @property
    def first_id(self) -> int:
        """The lowest non-zero reading id (rows are in id order), or 0."""
        return next((rid for rid in self.readings.reading_ids if rid), 0)

    @property
    def unnumbered(self) -> bool:
        """Whether some readings carry no id (0; rows are in id order, so they come first)."""
        return bool(len(self)) and self.readings.reading_ids[0] == 0

    @property
    def repeats_an_id(self) -> bool:
        """Whether a reading id comes twice (rows are in id order, so a repeat is next to itself; asked of rows that
        all have an id): the unique index, which holds the time, would not refuse the second one on the straight
        ``COPY``."""
        ids = self.readings.reading_ids
        return any(map(eq, islice(ids, 1, None), ids))

    @property
    def last_id(self) -> int:
        ids = self.readings.reading_ids
        return ids[-1] if len(ids) else 0

    def split(self, parts: int) -> list[CopyRows]:
        """The rows in at most ``parts`` consecutive runs of nearly equal size (slices: no per-row work)."""
        size = max(1, -(-len(self) // max(1, parts)))
        return [
            CopyRows(
                readings=self.readings[start : start + size],
                values=self.values[start : start + size],
                stream_columns=self.stream_columns,
            )
            for start in range(0, len(self), size)
        ] or [self]

    def series_ids(self) -> list[int]:
        """The series ids of the streams that have rows, sorted."""
        return sorted({self.stream_columns[stream].series for stream in set(self.readings.streams)})

    def chunks(self, rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[bytes]:
        """The whole ``COPY`` payload: header, rows in chunks of ``rows_per_chunk``, trailer."""
        yield HEADER
        readings = self.readings
        prefixes = {stream: columns.prefix() for stream, columns in self.stream_columns.items()}
        pairs = set(zip(readings.statuses, readings.dirty, strict=True))
        suffixes = {(status, dirty): row_suffix(status, dirty) for status, dirty in pairs}
        prefix_lengths = {len(prefix) for prefix in prefixes.values()}
        suffix_lengths = {len(suffix) for suffix in suffixes.values()}
        if len(prefix_lengths) == 1 and len(suffix_lengths) <= 1 and None not in readings.device_timestamps:
            suffix_length = suffix_lengths.pop() if suffix_lengths else 0
            pack = struct.Struct(f">{prefix_lengths.pop()}s{_NUMBERS[1:]}{suffix_length}s").pack
            for start in range(0, len(self), rows_per_chunk):
                yield self._packed_chunk(pack, prefixes, suffixes, slice(start, start + rows_per_chunk))
        else:
            for start in range(0, len(self), rows_per_chunk):
                yield self._general_chunk(prefixes, suffixes, slice(start, start + rows_per_chunk))
        yield TRAILER

    def _packed_chunk(self, pack, prefixes, suffixes, rows: slice) -> bytes:
        readings = self.readings
        return b"".join(
            map(
                pack,
                map(prefixes.__getitem__, readings.streams[rows]),
                repeat(8),
                readings.device_timestamps[rows],
                repeat(8),
                to_microseconds(readings.timestamps[rows]),
                repeat(8),
                readings.reading_ids[rows],
                repeat(8),
                readings.int_values[rows],
                repeat(8),
                self.values[rows],
                map(suffixes.__getitem__, zip(readings.statuses[rows], readings.dirty[rows], strict=True)),
            )
        )

    def _general_chunk(self, prefixes, suffixes, rows: slice) -> bytes:
        """Rows of streams with prefixes of different lengths, or with unknown device timestamps (NULL)."""
        pack_int8, pack_rest = _INT8.pack, struct.Struct(_AFTER_DEVICE_TIMESTAMP).pack
        readings = self.readings
        parts = []
        for stream, device_timestamp, micros, reading_id, int_value, value, status in zip(
            readings.streams[rows],
            readings.device_timestamps[rows],
            to_microseconds(readings.timestamps[rows]),
            readings.reading_ids[rows],
            readings.int_values[rows],
            self.values[rows],
            zip(readings.statuses[rows], readings.dirty[rows], strict=True),
            strict=True,
        ):
            parts.append(prefixes[stream])
            parts.append(_NULL if device_timestamp is None else pack_int8(8, device_timestamp))
            parts.append(pack_rest(8, micros, 8, reading_id, 8, int_value, 8, value))
            parts.append(suffixes[status])
        return b"".join(parts)


class ChunkReader:
    """A read-only file over an iterator of byte chunks, as ``cursor.copy_expert`` wants; each ``read`` returns the
    next whole chunk (psycopg2 sends whatever ``read`` returns)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def read(self, size: int = -1) -> bytes:
        return next(self._chunks, b"")
