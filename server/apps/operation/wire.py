"""The messages exchanged with devices, the same over every transport (the AWS config sample's shapes).

Request (platform → device)::

    {"operationId": "<uuid>", "name": "SET_CONFIG", "type": "REQ", "value": …, "timestamp": <epoch ms>}

Reply (device → platform)::

    {"operationId": "<uuid>", "name": "SET_CONFIG", "type": "RESP", "status": "SUCCESS", "value": …,
     "error": "", "timestamp": <epoch ms>}
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from server.apps.operation.models import DeviceOperation


class MessageError(ValueError):
    """A message that cannot be read; its text says why, for the device's page."""


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def request_message(operation: DeviceOperation, now: datetime | None = None) -> dict[str, Any]:
    return {
        "operationId": str(operation.id),
        "name": operation.name,
        "type": "REQ",
        "value": operation.payload,
        "timestamp": epoch_ms(now or datetime.now(UTC)),
    }


@dataclass(frozen=True)
class Reply:
    operation_id: uuid.UUID | None  # None: not a UUID, so it names no operation
    name: str
    status: str
    value: Any
    error: str
    raw_id: str


def reply_from_dict(body: Any) -> Reply:
    """A reply from its decoded JSON; :class:`MessageError` says what is wrong with it."""
    if not isinstance(body, dict):
        raise MessageError("A reply is a JSON object.")
    raw_id = body.get("operationId")
    if not isinstance(raw_id, str) or not raw_id:
        raise MessageError("The reply has no operationId.")
    if body.get("type", "RESP") != "RESP":
        raise MessageError(f"The reply's type is {body.get('type')!r}, not RESP.")
    status = body.get("status")
    if not isinstance(status, str) or not status:
        raise MessageError("The reply has no status.")
    error = body.get("error") or ""
    if not isinstance(error, str):
        error = json.dumps(error)
    try:
        operation_id: uuid.UUID | None = uuid.UUID(raw_id)
    except ValueError:
        operation_id = None
    name = body.get("name")
    return Reply(
        operation_id=operation_id,
        name=name if isinstance(name, str) else "",
        status=status[:32],
        value=body.get("value"),
        error=error[:2000],
        raw_id=raw_id[:80],
    )


def json_from_bytes(data: bytes, what: str = "message") -> Any:
    limit = settings.OPERATION_MESSAGE_MAX_BYTES
    if len(data) > limit:
        raise MessageError(f"The {what} is {len(data)} bytes; at most {limit} are read.")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"The {what} is not JSON: {exc}.") from None


def reply_from_bytes(data: bytes) -> Reply:
    return reply_from_dict(json_from_bytes(data, "reply"))


def excerpt(data: bytes, size: int = 300) -> str:
    return data[:size].decode("utf-8", errors="replace")
