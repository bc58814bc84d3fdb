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

from server.apps.operation.kinds import KANTO_ACTION_STATUSES, KANTO_STATUSES
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


# Kanto's update manager (peer_systems.md §3) ------------------------------------------------------------------------
# Its desired-state feedback, in Kanto's envelope ``{activityId, timestamp, payload}``, read as a reply to the
# ``desiredstate`` operation its activityId names: the overall status is the reply's status, the feedback (status,
# message, each action's component, status, progress and message) its value, the message its error. It arrives on
# ``devices/<slug>/update/desiredstatefeedback`` or at ``operation/reply/``.

MAX_ACTIONS = 1000
FAILED_ENDINGS = ("FAILURE", "ERROR", "REJECTED")
MESSAGE_LENGTH = 2000


def kanto_envelope(body: Any, what: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict):
        raise MessageError(f"A {what} is a JSON object {{activityId, timestamp, payload}}.")
    activity = body.get("activityId", "")
    if not isinstance(activity, str):
        raise MessageError(f"The {what}'s activityId is text.")
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise MessageError(f"The {what} has no payload object.")
    return activity[:80], payload


def _text(value: Any, size: int = MESSAGE_LENGTH) -> str:
    return value[:size] if isinstance(value, str) else ""


def _action(item: Any, index: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise MessageError(f"actions[{index}] is an object.")
    component = item["component"] if isinstance(item.get("component"), dict) else {}
    status = item.get("status")
    if status not in KANTO_ACTION_STATUSES:
        raise MessageError(f"actions[{index}].status {str(status)[:40]!r} is not an action status of Kanto's.")
    progress = item.get("progress", 0)
    if isinstance(progress, bool) or not isinstance(progress, int | float) or not 0 <= progress <= 100:
        raise MessageError(f"actions[{index}].progress is a number from 0 to 100.")
    return {
        "component": {"id": _text(component.get("id"), 200), "version": _text(component.get("version"), 128)},
        "status": status,
        "progress": int(progress),
        "message": _text(item.get("message")),
    }


def _failure_message(actions: list[dict[str, Any]]) -> str:
    failed = [action for action in actions if action["status"].endswith(FAILED_ENDINGS) and action["message"]]
    return f"{failed[-1]['component']['id']}: {failed[-1]['message']}" if failed else ""


def feedback_reply(body: Any) -> Reply:
    """A ``desiredstatefeedback`` message as a reply to the operation its activityId names."""
    activity, payload = kanto_envelope(body, "feedback")
    if not activity:
        raise MessageError("The feedback has no activityId.")
    status = payload.get("status")
    if status not in KANTO_STATUSES:
        raise MessageError(f"The feedback's status {str(status)[:40]!r} is not one of Kanto's.")
    actions = payload.get("actions") or []
    if not isinstance(actions, list) or len(actions) > MAX_ACTIONS:
        raise MessageError(f"The feedback's actions are a list of at most {MAX_ACTIONS}.")
    feedback: dict[str, Any] = {
        "status": status,
        "message": _text(payload.get("message")),
        "actions": [_action(item, index) for index, item in enumerate(actions)],
    }
    if isinstance(payload.get("baseline"), str):
        feedback["baseline"] = _text(payload["baseline"], 200)
    if isinstance(body.get("timestamp"), int):
        feedback["timestamp"] = body["timestamp"]
    try:
        operation_id: uuid.UUID | None = uuid.UUID(activity)
    except ValueError:
        operation_id = None
    return Reply(
        operation_id=operation_id,
        name="desiredstate",
        status=status,
        value=feedback,
        error=feedback["message"] or _failure_message(feedback["actions"]),
        raw_id=activity,
    )
