"""Error reporting through sentry-sdk, switched on by ``SENTRY_DSN`` (production settings).

Unhandled exceptions in requests and in the worker, and log records at ERROR, become events; lower records ride
along as breadcrumbs. Each event carries the request and correlation ids of the work it came from, the same ids the
JSON log lines carry, so an event leads to its log lines. No personal data is sent (``send_default_pii`` off).
"""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from server.apps.core import logs


def _tag_with_ids(event: Any, hint: dict[str, Any]) -> Any:
    tags = event.setdefault("tags", {})
    for name, variable in (("request_id", logs.request_id), ("correlation_id", logs.correlation_id)):
        value = variable.get()
        if value:
            tags[name] = value
    return event


def init_error_reporting(*, dsn: str, environment: str, traces_sample_rate: float = 0.0, release: str = "") -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        before_send=_tag_with_ids,
    )
