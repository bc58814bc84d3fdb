"""What telemetry looks like on the wire, read strictly: ThingsBoard's body (HTTP and MQTT) and The Things Stack's
uplink. Reading never raises anything but :class:`BodyError`, whose message is for the sender."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from server.apps.core.inputs import InputError, json_loads

# A key names a variable (StreamVariable.name: 60 characters).
KEY_MAX_LENGTH = 60
KEY_PATTERN = re.compile(r"^[^\x00-\x1f\x7f]{1,60}$")
MESSAGE_ID_KEY = "msg_id"
# The most values one message may hold.
MAX_VALUES = 10_000
# Epoch milliseconds in this range: 1970-01-01 .. 2200-01-01.
TS_MAX_MS = 7_258_118_400_000


class BodyError(Exception):
    """A body that cannot be read as telemetry; the message says why."""


@dataclass(frozen=True)
class Entry:
    """Values at one time (``timestamp`` None: when the message arrived)."""

    timestamp: datetime | None
    values: dict[str, float]


@dataclass(frozen=True)
class Telemetry:
    entries: list[Entry]
    message_id: str | None = None


def body_json(data: bytes) -> Any:
    if len(data) > settings.REQUEST_MAX_BODY_BYTES:
        raise BodyError(f"The body is {len(data)} bytes; at most {settings.REQUEST_MAX_BODY_BYTES} are read.")
    try:
        return json_loads(data)
    except InputError as exc:
        raise BodyError(str(exc)) from None


def _value(key: Any, value: Any) -> float:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise BodyError(f"A key is text of 1 to {KEY_MAX_LENGTH} characters, not {str(key)[:80]!r}.")
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if number == number and abs(number) != float("inf"):
                return number
    raise BodyError(f"The value of {key!r} is not a number or a boolean.")


def _values(values: Any) -> dict[str, float]:
    if not isinstance(values, dict) or not values:
        raise BodyError('"values" is an object of keys and numbers with at least one key.')
    return {key: _value(key, value) for key, value in values.items()}


def epoch_ms(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < TS_MAX_MS:
        raise BodyError(f'"ts" is a time in epoch milliseconds, not {str(value)[:40]!r}.')
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _entry(item: Any) -> Entry:
    if not isinstance(item, dict):
        raise BodyError("Each entry is an object: {key: value} or {ts, values}.")
    if "values" in item or "ts" in item:
        extra = set(item) - {"ts", "values", MESSAGE_ID_KEY}
        if extra:
            raise BodyError(f'An entry with "ts" holds only "ts" and "values", not {sorted(extra)[0]!r}.')
        return Entry(epoch_ms(item["ts"]) if "ts" in item else None, _values(item.get("values")))
    return Entry(None, _values({key: value for key, value in item.items() if key != MESSAGE_ID_KEY}))


def telemetry_read(data: bytes) -> Telemetry:
    """ThingsBoard's telemetry body: ``{key: value}``, ``{ts, values}`` or a list of either. An object may name
    itself with ``"msg_id"`` (text or a number) for idempotent delivery."""
    body = body_json(data)
    message_id = None
    if isinstance(body, dict) and MESSAGE_ID_KEY in body:
        raw_id = body[MESSAGE_ID_KEY]
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not 0 < len(str(raw_id)) <= 100:
            raise BodyError('"msg_id" is text or a number (at most 100 characters).')
        message_id = str(raw_id)
    items = body if isinstance(body, list) else [body]
    if not items:
        raise BodyError("The list of entries is empty.")
    entries = [_entry(item) for item in items]
    if sum(len(entry.values) for entry in entries) > MAX_VALUES:
        raise BodyError(f"A message holds at most {MAX_VALUES} values.")
    return Telemetry(entries, message_id)


def future_check(entries: list[Entry], *, now: datetime) -> None:
    """IoTa drops a message timed more than an hour ahead: a clock gone wrong."""
    limit = now + timedelta(seconds=settings.TELEMETRY_FUTURE_SECONDS)
    for entry in entries:
        if entry.timestamp is not None and entry.timestamp > limit:
            raise BodyError(
                f"The time {entry.timestamp.isoformat()} is more than {settings.TELEMETRY_FUTURE_SECONDS} s ahead."
            )


# The Things Stack (v3) uplinks ---------------------------------------------------------------------------------------

DEV_EUI_PATTERN = re.compile(r"^[0-9A-Fa-f]{16}$")


@dataclass(frozen=True)
class Uplink:
    dev_eui: str  # lower-case hex
    device_id: str
    application_id: str
    message_id: str
    telemetry: Telemetry


def _iso(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise BodyError(f"{what} is an ISO-8601 time.")
    try:
        # Python before 3.11 could not read nanoseconds; keep microseconds.
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BodyError(f"{what} is an ISO-8601 time, not {value[:40]!r}.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _flatten(prefix: str, value: Any, into: dict[str, float]) -> None:
    """Numeric leaves of a decoded payload; nested objects become ``outer_inner``; text is left out."""
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}_{key}" if prefix else str(key), inner, into)
    elif isinstance(value, bool | int | float):
        into[prefix[:KEY_MAX_LENGTH]] = _value(prefix[:KEY_MAX_LENGTH], value)


def uplink_read(data: bytes) -> Uplink:
    """A The Things Stack uplink webhook message: the device by ``end_device_ids.dev_eui``, the values of
    ``uplink_message.decoded_payload`` at the first gateway's receive time (else the uplink's)."""
    body = body_json(data)
    if not isinstance(body, dict):
        raise BodyError("An uplink message is a JSON object.")
    ids = body.get("end_device_ids")
    uplink = body.get("uplink_message")
    if not isinstance(ids, dict) or not isinstance(uplink, dict):
        raise BodyError("Not an uplink: end_device_ids and uplink_message are required.")
    dev_eui = ids.get("dev_eui")
    if not isinstance(dev_eui, str) or not DEV_EUI_PATTERN.match(dev_eui):
        raise BodyError("end_device_ids.dev_eui is 16 hex digits.")
    application: dict[str, Any] = ids["application_ids"] if isinstance(ids.get("application_ids"), dict) else {}
    gateways: list[Any] = uplink["rx_metadata"] if isinstance(uplink.get("rx_metadata"), list) else []
    times = [gw["received_at"] for gw in gateways if isinstance(gw, dict) and gw.get("received_at")]
    received = times[0] if times else uplink.get("received_at") or body.get("received_at")
    timestamp = _iso(received, "received_at")
    values: dict[str, float] = {}
    _flatten("", uplink.get("decoded_payload") or {}, values)
    if not values:
        raise BodyError("The uplink has no decoded_payload with numbers.")
    f_cnt = uplink.get("f_cnt", "")
    return Uplink(
        dev_eui=dev_eui.lower(),
        device_id=str(ids.get("device_id") or "")[:100],
        application_id=str(application.get("application_id") or "")[:100],
        message_id=f"{dev_eui.lower()}:{uplink.get('received_at') or received}:{f_cnt}"[:200],
        telemetry=Telemetry([Entry(timestamp, values)]),
    )
