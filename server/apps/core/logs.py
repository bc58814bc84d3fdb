"""Log lines that can be followed across processes: every line carries the request id and the correlation id of the
work it belongs to, and production writes them as one JSON object per line.

- The **request id** names one HTTP request: nginx's ``X-Request-ID`` (``$request_id``) when it sent one, else a
  fresh one. It is answered back in ``X-Request-ID``, so a client, nginx's access log and ours agree.
- The **correlation id** names a piece of work that may span requests and processes: a client's
  ``X-Correlation-ID``, else the request id. It is answered back in ``X-Correlation-ID``.

``RequestIdMiddleware`` (``core/middleware.py``) sets both for a request, ``log_context`` for any other work (a worker
message), and ``LogContextFilter`` puts them on every record of the handlers it is attached to.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id: ContextVar[str] = ContextVar("request_id", default="")
correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")

# What a client or proxy may send as an id: short, and nothing that could forge a log line or a header.
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def new_id() -> str:
    return uuid.uuid4().hex


def clean_id(value: str | None) -> str:
    """``value`` when it is a well-formed id, else ``""`` (the caller makes a fresh one)."""
    return value if value and _ID_PATTERN.fullmatch(value) else ""


@contextmanager
def log_context(*, request: str = "", correlation: str = "") -> Iterator[None]:
    """Tag every log line written inside the block with these ids (the correlation id defaults to the request's)."""
    request_token = request_id.set(request)
    correlation_token = correlation_id.set(correlation or request)
    try:
        yield
    finally:
        correlation_id.reset(correlation_token)
        request_id.reset(request_token)


class LogContextFilter(logging.Filter):
    """Adds ``request_id`` and ``correlation_id`` to each record (empty outside a request or a tagged block)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id.get()
        if not getattr(record, "correlation_id", ""):
            record.correlation_id = correlation_id.get()
        return True


# The attributes every LogRecord has; anything else on a record came from ``extra=`` and is written as a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the two ids, the process, the ``extra=``
    fields, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id.get(),
            "correlation_id": getattr(record, "correlation_id", "") or correlation_id.get(),
            "process": record.process,
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and name not in line:
                line[name] = _plain(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


def logging_settings(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's ``LOGGING``: everything to stderr, each record tagged with the ids, written as JSON
    (``log_format="json"``) or as plain text."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"log_context": {"()": "server.apps.core.logs.LogContextFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "server.apps.core.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if log_format == "json" else "plain",
                "filters": ["log_context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
