"""The device uploads' periodic job: the due upload schedules make their ``upload`` operations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.apps.deviceupload.services import upload_schedules_run
from server.apps.worker.actions import Action, RetryPolicy, register_action
from server.apps.worker.scheduler import register_periodic


@register_action
class RunUploadSchedules(Action):
    """Each due upload schedule asks its device (or its fleet's devices) for their files, once per period."""

    timeout = 300
    retry = RetryPolicy(max_attempts=3, backoff=30)

    def execute(self, arguments: dict[str, Any]) -> None:
        upload_schedules_run()


register_periodic(RunUploadSchedules, every=timedelta(minutes=1))
