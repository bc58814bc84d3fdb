"""Queue transports: PostgreSQL (default) and SQS (``WORKER_QUEUE=sqs``). ``get_transport()`` returns the configured
one, built once per process."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from server.apps.worker.transports.base import Message, QueueDepth, Transport

__all__ = ["Message", "QueueDepth", "Transport", "get_transport", "make_transport"]

_transport: Transport | None = None
_lock = threading.Lock()


def make_transport(name: str | None = None) -> Transport:
    name = (name or settings.WORKER_QUEUE).lower()
    if name in ("postgres", "postgresql", "db"):
        from server.apps.worker.transports.postgres import PostgresTransport

        return PostgresTransport()
    if name == "sqs":
        from server.apps.worker.transports.sqs import SqsTransport

        return SqsTransport()
    raise ImproperlyConfigured(f"WORKER_QUEUE must be 'postgres' or 'sqs', not {name!r}")


def get_transport() -> Transport:
    global _transport
    if _transport is None:
        with _lock:
            if _transport is None:
                _transport = make_transport()
    return _transport


def _reset(**kwargs: Any) -> None:
    global _transport
    if str(kwargs.get("setting", "")).startswith("WORKER_"):
        _transport = None


setting_changed.connect(_reset, dispatch_uid="worker.transports.reset")
