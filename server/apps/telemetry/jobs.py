"""The telemetry app's queue action: write the values a crash between an ingest's two commits left missing
(docs/telemetry.md, "The crash window")."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from server.apps.telemetry.services.ingest import telemetry_values_mend
from server.apps.worker.actions import Action, RetryPolicy, register_action
from server.apps.worker.scheduler import register_periodic

logger = logging.getLogger(__name__)


@register_action
class MendTelemetryValues(Action):
    """Raw messages older than ``TELEMETRY_MEND_GRACE_SECONDS`` whose values are not all stored get them, once."""

    timeout = 600
    retry = RetryPolicy(max_attempts=2, backoff=60)

    def execute(self, arguments: dict[str, Any]) -> None:
        received_before = timezone.now() - timedelta(seconds=settings.TELEMETRY_MEND_GRACE_SECONDS)
        written = telemetry_values_mend(received_before=received_before)
        if written:
            logger.warning("telemetry mend: %d values a crash had left missing were written", written)


register_periodic(MendTelemetryValues, every=timedelta(seconds=settings.TELEMETRY_MEND_CHECK_SECONDS))
