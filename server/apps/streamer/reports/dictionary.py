"""FlexibleDictionaryReport: a map encoded as msgpack (``.mp``) or JSON (``.json``); only the name tells which.

Keys: ``format`` ("v100"), ``device`` (an integer, or a ``d--`` slug), ``streamer_index`` (default 0x100, as the
client writes it), ``streamer_selector``, ``incremental_id``, ``device_sent_timestamp``, ``lowest_id``,
``highest_id``, and optional lists ``data`` (readings) and ``events``.

A reading is ``{stream, streamer_local_id, device_timestamp, timestamp, value}``; an event is ``{stream,
streamer_local_id, device_timestamp, timestamp, extra_data, data}``. ``stream`` is an integer or a hex string
("5001", "0x5001"); timestamps are ISO 8601, with or without ``Z`` or an offset (naive means UTC; the client writes
event times as ``isoformat() + 'Z'``, which gives "+00:00Z" for aware datetimes, and that is accepted too).
``value`` is the raw integer; a negative value is stored as its 32-bit two's complement, like a device would send it.
"""

from __future__ import annotations

import datetime
from typing import Any

from server.apps.core.inputs import InputError, check_structure, json_loads, msgpack_loads
from server.apps.core.slugs import SlugError, parse_device_slug, parse_variable_lid

from .errors import ReportFormatError
from .model import Event, ParsedReport, ReadingTable, ReportFormat, ReportHeader, checked_id_range

FORMAT_TAG = "v100"
DEFAULT_STREAMER_INDEX = 0x100
U16 = 0xFFFF
U32 = 0xFFFFFFFF
DEVICE_MAX = (1 << 48) - 1
# Keys every dictionary report must carry, with the largest value each may hold.
REQUIRED_IDS = {
    "streamer_selector": U16,
    "incremental_id": U32,
    "device_sent_timestamp": U32,
    "lowest_id": U32,
    "highest_id": U32,
}


def load_dictionary(data: bytes, name: str, encoding: str) -> dict[str, Any]:
    """Decode the file (``encoding`` is "msgpack" or "json") into its top-level map, strictly (core/inputs.py: at
    most 64 levels, no NUL characters or lone surrogates, finite numbers; bytes only in msgpack)."""
    try:
        decoded = msgpack_loads(data, allow_bytes=True) if encoding == "msgpack" else json_loads(data)
    except InputError as exc:
        label = "msgpack" if encoding == "msgpack" else "JSON"
        raise ReportFormatError(f"{name}: the file is not valid {label} ({_short(exc)})") from exc
    if not isinstance(decoded, dict):
        raise ReportFormatError(f"{name}: a dictionary report must be a map, not {type(decoded).__name__}")
    return decoded


def header_from_dictionary(report: dict[str, Any], name: str, length: int) -> ReportHeader:
    """Check the report's keys and types; the readings and events are only checked to be lists."""
    missing = [key for key in ("format", "device", *REQUIRED_IDS) if key not in report]
    if missing:
        raise ReportFormatError(f"{name}: the report lacks required keys: {', '.join(missing)}")
    if report["format"] != FORMAT_TAG:
        raise ReportFormatError(f"{name}: unsupported format {_short(report['format'])}; expected '{FORMAT_TAG}'")
    ids = {key: _uint(report[key], key, limit, name) for key, limit in REQUIRED_IDS.items()}
    checked_id_range(ids["lowest_id"], ids["highest_id"], name)
    streamer_index = report.get("streamer_index")
    if streamer_index is None:
        streamer_index = DEFAULT_STREAMER_INDEX
    return ReportHeader(
        format=ReportFormat.FLEXIBLE_DICTIONARY,
        length=length,
        device_id=_device(report["device"], name),
        report_id=ids["incremental_id"],
        sent_timestamp=ids["device_sent_timestamp"],
        signature_flags=None,
        streamer_index=_uint(streamer_index, "streamer_index", U16, name),
        selector=ids["streamer_selector"],
        lowest_id=ids["lowest_id"],
        highest_id=ids["highest_id"],
        reading_count=len(_list(report, "data", name)),
        event_count=len(_list(report, "events", name)),
    )


def parse_dictionary(report: dict[str, Any], name: str, length: int) -> ParsedReport:
    header = header_from_dictionary(report, name, length)
    streams, reading_ids, raw_times, values, timestamps = [], [], [], [], []
    for index, item in enumerate(_list(report, "data", name)):
        where = f"{name}: data[{index}]"
        item = _item(item, where)
        streams.append(_stream(item.get("stream"), where))
        reading_ids.append(_optional_uint(item.get("streamer_local_id"), "streamer_local_id", where) or 0)
        raw_times.append(_optional_uint(item.get("device_timestamp"), "device_timestamp", where))
        values.append(_value(item.get("value"), where))
        timestamps.append(_timestamp(item.get("timestamp"), where))
    events = []
    for index, item in enumerate(_list(report, "events", name)):
        where = f"{name}: events[{index}]"
        item = _item(item, where)
        extra_data = item.get("extra_data")
        if extra_data is None:
            extra_data = {}
        elif not isinstance(extra_data, dict):
            raise ReportFormatError(f"{where}.extra_data must be a map, not {type(extra_data).__name__}")
        try:
            check_structure(extra_data)  # stored as JSON: no raw bytes
        except InputError as exc:
            raise ReportFormatError(f"{where}.extra_data: {exc}") from exc
        events.append(
            Event(
                stream=_stream(item.get("stream"), where),
                reading_id=_optional_uint(item.get("streamer_local_id"), "streamer_local_id", where) or 0,
                raw_time=_optional_uint(item.get("device_timestamp"), "device_timestamp", where),
                timestamp=_timestamp(item.get("timestamp"), where),
                extra_data=extra_data,
                data=item.get("data"),
            )
        )
    readings = ReadingTable(streams, reading_ids, raw_times, values, timestamps)
    return ParsedReport(header, readings, events)


def parse_timestamp(text: str) -> datetime.datetime:
    """An aware UTC datetime from ISO 8601 text; naive text is UTC. Raises ValueError."""
    text = text.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1]
    parsed = datetime.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=datetime.UTC)
    return parsed.astimezone(datetime.UTC)


def _list(report: dict[str, Any], key: str, name: str) -> list[Any]:
    items = report.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ReportFormatError(f"{name}: '{key}' must be a list, not {type(items).__name__}")
    return items


def _item(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ReportFormatError(f"{where} must be a map, not {type(item).__name__}")
    return item


def _uint(value: Any, key: str, limit: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ReportFormatError(f"{name}: '{key}' must be an integer from 0 to {limit}, not {_short(value)}")
    return value


def _optional_uint(value: Any, key: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U32:
        raise ReportFormatError(f"{where}.{key} must be an integer from 0 to {U32}, not {_short(value)}")
    return value


def _device(value: Any, name: str) -> int:
    # A slug must say it is one: a bare "12" could be decimal or hex.
    if isinstance(value, str):
        try:
            if not value.strip().lower().startswith("d--"):
                raise SlugError(value)
            value = parse_device_slug(value.strip().lower())
        except SlugError as exc:
            raise ReportFormatError(f"{name}: 'device' {_short(value)} is not a device id or a d-- slug") from exc
    return _uint(value, "device", DEVICE_MAX, name)


def _stream(value: Any, where: str) -> int:
    if isinstance(value, str):
        # ASCII hex digits only, as every variable id (int(text, 16) would also read other scripts' digits and "_").
        try:
            value = parse_variable_lid(value.strip())
        except SlugError:
            raise ReportFormatError(f"{where}.stream {_short(value)} is not a hex stream id") from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U16:
        raise ReportFormatError(f"{where}.stream must be a stream id from 0 to 0xffff, not {_short(value)}")
    return value


def _value(value: Any, where: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -(1 << 31) <= value <= U32:
        raise ReportFormatError(f"{where}.value must be a raw 32-bit integer, not {_short(value)}")
    return value & U32


def _timestamp(value: Any, where: str) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        try:
            return parse_timestamp(value)
        except (ValueError, OverflowError):  # OverflowError: an offset that takes it past year 1 or 9999
            pass
    raise ReportFormatError(f"{where}.timestamp {_short(value)} is not an ISO 8601 date and time")


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, Exception) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
