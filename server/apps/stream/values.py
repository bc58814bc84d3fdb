"""Turning a device's raw readings into stored values, and stored values into a stream's output unit.

Stored ``value`` is in the variable type's storage units. On ingest a raw 32-bit reading is

1. read with the stream's ``raw_value_format`` (``<L`` unsigned, ``<l`` signed, ``<f`` float, …),
2. scaled by the stream's own MDO, or its variable's when ``mdo_type`` is ``V``: ``x * m / d + o``,
3. converted by the stream's input unit into storage units: ``y * m / d + o``.

On reads, ``output_value`` applies the stream's output unit to the stored value. Both work on plain numbers, so the
ingest path converts a whole batch per stream with one call. The stream needs ``variable``, ``input_unit`` and
``output_unit`` loaded (``select_related``) to avoid a query per stream.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.apps.stream.models import StreamId

# Formats a 32-bit reading can be read as; the reading's low bytes are used for the shorter ones.
RAW_VALUE_FORMATS = ("<L", "<l", "<H", "<h", "<B", "<b", "<f")
_PACK_U32 = struct.Struct("<L")


def _raw_reader(raw_value_format: str) -> Callable[[int], float] | None:
    """A function reading a raw u32 as ``raw_value_format``; None when it is the identity (``<L``)."""
    if raw_value_format == "<L" or raw_value_format not in RAW_VALUE_FORMATS:
        return None
    unpack = struct.Struct(raw_value_format)
    size = unpack.size

    def read(raw: int) -> float:
        return unpack.unpack(_PACK_U32.pack(raw & 0xFFFFFFFF)[:size])[0]

    return read


def values_from_raw(stream: StreamId, raw_values: Sequence[int]) -> list[float]:
    """The stored values of ``raw_values``, raw readings of ``stream`` (each the reading's 32-bit value).

    ``values_from_raw(stream, [1, 2, 3]) -> [v1, v2, v3]``: format, then MDO, then the input unit (module doc).
    One call per stream and batch; no queries when the stream's ``variable`` and ``input_unit`` are loaded.
    """
    read = _raw_reader(stream.raw_value_format)
    numbers: Sequence[float] = [read(raw) for raw in raw_values] if read else raw_values
    m, d, o = stream.mdo()
    unit = stream.input_unit if stream.input_unit_id else None
    if unit is None:
        return [x * m / d + o for x in numbers]
    um, ud, uo = unit.m, unit.d, unit.o
    return [(x * m / d + o) * um / ud + uo for x in numbers]


def value_from_raw(stream: StreamId, raw: int) -> float:
    """One raw reading of ``stream`` as a stored value (see :func:`values_from_raw`)."""
    return values_from_raw(stream, [raw])[0]


def output_values(stream: StreamId, values: Sequence[float | None]) -> list[float | None]:
    """Stored values of ``stream`` in its output unit (unchanged when it has none; None stays None)."""
    unit = stream.output_unit
    if unit is None:
        return list(values)
    m, d, o = unit.m, unit.d, unit.o
    return [None if value is None else value * m / d + o for value in values]


def output_value(stream: StreamId, value: float | None) -> float | None:
    """One stored value of ``stream`` in its output unit."""
    return output_values(stream, [value])[0]
