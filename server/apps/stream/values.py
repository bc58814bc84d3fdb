"""Turning a device's raw readings into stored values, and stored values into a stream's output unit: the one place
these conversions are written (the worker's ingest, the data API and the dashboard all come here).

Stored ``value`` is in the variable type's storage units. A raw 32-bit reading is

1. read with the stream's ``raw_value_format``: ``<L`` unsigned (the raw value itself), ``<l`` signed, ``<H``,
   ``<h``, ``<B``, ``<b`` its low 16 or 8 bits, ``<f`` a 32-bit float;
2. scaled by the stream's own MDO, or its variable's when ``mdo_type`` is ``V``: ``x * m / d + o``;
3. converted by the stream's input unit into storage units: ``y * m / d + o``.

:func:`raw_value_converter` gives that as one function per stream, or None when the stored value is the raw value
itself, so the ingest converts a report of many readings with no per-reading lookups (and none at all for plain
streams). The integer formats are read with bit operations rather than ``struct``, which costs a call per reading.
On reads, :func:`output_value` applies the stream's output unit. The stream needs ``variable``, ``input_unit`` and
``output_unit`` loaded (``select_related``) to avoid a query per stream.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.apps.stream.models import StreamId

_U32 = struct.Struct("<L")
_F32 = struct.Struct("<f")
# How each format reads a raw reading (the reading's low bytes for the shorter ones); ``<L`` is the raw value itself.
_RAW_READERS: dict[str, Callable[[int], float]] = {
    "<l": lambda raw: ((raw & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000,
    "<H": lambda raw: raw & 0xFFFF,
    "<h": lambda raw: ((raw & 0xFFFF) ^ 0x8000) - 0x8000,
    "<B": lambda raw: raw & 0xFF,
    "<b": lambda raw: ((raw & 0xFF) ^ 0x80) - 0x80,
    "<f": lambda raw: _F32.unpack(_U32.pack(raw & 0xFFFFFFFF))[0],
}
RAW_VALUE_FORMATS = ("<L", *_RAW_READERS)
# What each format reads, for the API's schema and the model's choices.
RAW_VALUE_FORMAT_LABELS = {
    "<L": "unsigned 32-bit integer (the raw value itself)",
    "<l": "signed 32-bit integer",
    "<H": "unsigned 16-bit integer (the low 16 bits)",
    "<h": "signed 16-bit integer (the low 16 bits)",
    "<B": "unsigned 8-bit integer (the low 8 bits)",
    "<b": "signed 8-bit integer (the low 8 bits)",
    "<f": "32-bit float",
}


def raw_value_converter(stream: StreamId) -> Callable[[int], float] | None:
    """The raw → stored value function of ``stream``: format, then MDO, then the input unit (module doc); None when
    the stored value is the raw value unchanged. No queries when the stream's ``variable`` and ``input_unit`` are
    loaded."""
    read = _RAW_READERS.get(stream.raw_value_format)
    m, d, o = stream.mdo()
    unit = stream.input_unit if stream.input_unit_id else None
    if unit is not None:
        um, ud, uo = unit.m, unit.d, unit.o
        if read is None:
            return lambda raw: (raw * m / d + o) * um / ud + uo
        return lambda raw: (read(raw) * m / d + o) * um / ud + uo
    if read is None:
        return None if m == d and not o else lambda raw: raw * m / d + o
    return lambda raw: read(raw) * m / d + o


def value_from_raw(stream: StreamId, raw: int) -> float:
    """One raw reading of ``stream`` as a stored value (see :func:`raw_value_converter`)."""
    convert = raw_value_converter(stream)
    return float(raw) if convert is None else convert(raw)


def output_factors(stream: StreamId) -> tuple[float, float, float]:
    """The ``(m, d, o)`` of the stream's output unit: ``(1, 1, 0.0)`` when it has none."""
    unit = stream.output_unit if stream.output_unit_id else None
    return (unit.m, unit.d, unit.o) if unit is not None else (1, 1, 0.0)


def output_value(stream: StreamId, value: float | None) -> float | None:
    """A stored value of ``stream`` in its output unit (unchanged when it has none; None stays None)."""
    if value is None or not stream.output_unit_id:
        return value
    m, d, o = output_factors(stream)
    return value * m / d + o
