"""The streamer's queue action: process an uploaded report (docs/ingest.md)."""

from __future__ import annotations

from typing import Any

from server.apps.streamer.services import ReportProcessingError, streamer_report_process
from server.apps.worker.actions import Action, PermanentError, RetryPolicy, register_action


@register_action
class ProcessReport(Action):
    """Parse a stored report, write its readings and events, acknowledge its ids. A report that cannot be processed
    is marked failed with the reason and dead-lettered; database and store outages are retried."""

    required_arguments = ("report_id",)
    # Under the queue's visibility timeout (600 s) less the worker's margin, so no extension is needed: a report of
    # a million readings takes seconds.
    timeout = 540
    retry = RetryPolicy(max_attempts=5, backoff=30, max_backoff=1800)

    def execute(self, arguments: dict[str, Any]) -> None:
        try:
            streamer_report_process(report_id=arguments["report_id"])
        except ReportProcessingError as exc:
            raise PermanentError(str(exc)) from exc
