"""What an uploading device sends (Kanto's AutoUploadable), read strictly: a request to upload one file
``{correlationId: "<trigger>#<n>", options: {"file.name", "file.checksum", …}}`` and a status report
``{correlationId, state, progress, startTime, endTime, statusCode, message, info}``."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from server.apps.operation.kinds import UPLOAD_STATES
from server.apps.operation.wire import MessageError

CHECKSUM = re.compile(r"^(?:(md5):)?([0-9a-f]{32})$|^(?:(sha256):)?([0-9a-f]{64})$")
NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class UploadRequest:
    correlation_id: str
    trigger_id: uuid.UUID | None
    name: str
    checksum: str  # "md5:<hex>", "sha256:<hex>" or ""
    info: dict[str, str]


@dataclass(frozen=True)
class UploadStatus:
    correlation_id: str
    state: str
    progress: int
    message: str
    report: dict[str, Any]


def _correlation(body: Any, what: str) -> str:
    if not isinstance(body, dict):
        raise MessageError(f"An upload {what} is a JSON object.")
    correlation = body.get("correlationId")
    if not isinstance(correlation, str) or not correlation or len(correlation) > 120:
        raise MessageError(f"The upload {what} has no correlationId.")
    return correlation


def checksum_from(text: str) -> str:
    match = CHECKSUM.match(text.strip().lower())
    if not match:
        raise MessageError("A checksum is md5:<32 hex digits> or sha256:<64 hex digits>.")
    return f"md5:{match.group(2)}" if match.group(2) else f"sha256:{match.group(4)}"


def upload_request_from(body: Any) -> UploadRequest:
    correlation = _correlation(body, "request")
    options = body.get("options") or {}
    if not isinstance(options, dict) or not all(isinstance(value, str) for value in options.values()):
        raise MessageError("The request's options are text.")
    path = options.get("file.name") or options.get("file.path") or options.get("name") or ""
    name = NAME.sub("_", path.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")[:200] or "file"
    checksum = options.get("file.checksum") or options.get("checksum") or ""
    try:
        trigger_id: uuid.UUID | None = uuid.UUID(correlation.split("#", 1)[0])
    except ValueError:
        trigger_id = None
    return UploadRequest(
        correlation_id=correlation,
        trigger_id=trigger_id,
        name=name,
        checksum=checksum_from(checksum) if checksum else "",
        info={key: value for key, value in options.items() if key.startswith("info.")},
    )


def upload_status_from(body: Any) -> UploadStatus:
    correlation = _correlation(body, "status")
    state = body.get("state")
    if state not in UPLOAD_STATES:
        raise MessageError(f"The upload state {str(state)[:40]!r} is not one of {', '.join(sorted(UPLOAD_STATES))}.")
    progress = body.get("progress", 0)
    if isinstance(progress, bool) or not isinstance(progress, int | float) or not 0 <= progress <= 100:
        raise MessageError("The upload progress is a number from 0 to 100.")
    message = body.get("message") if isinstance(body.get("message"), str) else ""
    report = {
        key: body[key]
        for key in ("state", "progress", "startTime", "endTime", "statusCode", "message", "info")
        if key in body
    }
    return UploadStatus(correlation, state, int(progress), message[:2000], report)
