"""The periodic device health check (docs/health.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.apps.health.services import device_health_check
from server.apps.worker.actions import Action, RetryPolicy, register_action
from server.apps.worker.scheduler import register_periodic


@register_action
class DeviceHealthCheck(Action):
    """Work out each watched device's status and notify its recipients of each change."""

    timeout = 300
    retry = RetryPolicy(max_attempts=2, backoff=30)

    def execute(self, arguments: dict[str, Any]) -> None:
        device_health_check()


# Every minute: a device expected every minute fails within about a minute (the scheduler ticks every 30 s) of going
# quiet. It turns OK when heard, at once (``device_health_heard``, from presence).
register_periodic(DeviceHealthCheck, every=timedelta(minutes=1))
