"""The streamer's queue actions: process an uploaded report (docs/ingest.md), and drop old commit marks."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from server.apps.streamer.services import (
    INGESTED_REPORT_RETENTION_DAYS,
    ReportProcessingError,
    ingested_reports_delete_older_than,
    streamer_report_process,
)
from server.apps.worker.actions import Action, PermanentError, RetryPolicy, register_action
from server.apps.worker.scheduler import register_periodic

logger = logging.getLogger(__name__)


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


@register_action
class IngestedReportCleanup(Action):
    """Keeps the streamdata marks of processed reports to ``INGESTED_REPORT_RETENTION_DAYS``."""

    optional_arguments = ("days",)
    timeout = 600

    def execute(self, arguments: dict[str, Any]) -> None:
        days = int(arguments.get("days") or INGESTED_REPORT_RETENTION_DAYS)
        deleted = ingested_reports_delete_older_than(days=days)
        logger.info("ingested report cleanup: %d marks older than %d days deleted", deleted, days)


register_periodic(IngestedReportCleanup, every=timedelta(days=1))
