"""The report app's queue action: generate a scheduled report (docs/reports.md)."""

from __future__ import annotations

from typing import Any

from server.apps.core.errors import ApplicationError
from server.apps.report.services import generated_report_fail, generated_report_run
from server.apps.worker.actions import Action, PermanentError, RetryPolicy, register_action


@register_action
class GenerateReport(Action):
    """Write a ``GeneratedUserReport``'s file. A store outage or a lost connection is retried (the run starts
    again and writes the file again); a report that cannot be made is marked ``GE`` with the reason."""

    required_arguments = ("generated_id",)
    timeout = 3600
    retry = RetryPolicy(max_attempts=4, backoff=30, max_backoff=600)

    def execute(self, arguments: dict[str, Any]) -> None:
        generated_id = arguments["generated_id"]
        try:
            generated_report_run(generated_id=generated_id)
        except (ApplicationError, ValueError) as exc:
            generated_report_fail(generated_id=generated_id, error=str(exc))
            raise PermanentError(str(exc)) from exc
