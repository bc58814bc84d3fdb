"""The streamer's queue actions: process an uploaded report (docs/ingest.md), drop old commit marks and old
refused uploads."""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import timedelta
from typing import Any

from django.conf import settings

from server.apps.streamer.services.housekeeping import (
    INGESTED_REPORT_RETENTION_DAYS,
    ingested_reports_delete_older_than,
    rejected_reports_delete_older_than,
    reports_stalled_requeue,
)
from server.apps.streamer.services.processing import (
    ReportProcessingError,
    streamer_reports_process,
)
from server.apps.streamer.writer import write_connections_check
from server.apps.worker.actions import Action, PermanentError, RetryPolicy, register_action
from server.apps.worker.jobs import register_self_test_check
from server.apps.worker.scheduler import register_periodic

logger = logging.getLogger(__name__)


@register_action
class ProcessReport(Action):
    """Parse stored reports, write their readings and events, acknowledge their ids; a batch at a time, each
    report's write overlapping the next one's parsing (``streamer_reports_process``). A report that cannot be
    processed is marked failed with the reason and dead-lettered; database and store outages are retried. A device
    being archived does not hold its reports up: archiving changes no data row (docs/datablocks.md)."""

    required_arguments = ("report_id",)
    # Messages queued before archiving stopped holding reports up may still carry it; it is ignored.
    optional_arguments = ("busy_tries",)
    # For a whole batch (the worker renews the messages' leases meanwhile): a report of a million readings takes
    # seconds.
    timeout = 540
    retry = RetryPolicy(max_attempts=5, backoff=30, max_backoff=1800)
    batched = True

    def execute_batch(self, arguments: list[dict[str, Any]]) -> Generator[tuple[int, Exception | None], None, None]:
        report_ids = [str(each["report_id"]) for each in arguments]
        for position, error in streamer_reports_process(report_ids=report_ids):
            yield position, self._outcome(arguments[position], error)

    def _outcome(self, arguments: dict[str, Any], error: Exception | None) -> Exception | None:
        if isinstance(error, ReportProcessingError):
            return PermanentError(str(error))
        return error


@register_action
class IngestedReportCleanup(Action):
    """Keeps the streamdata marks of processed reports to ``INGESTED_REPORT_RETENTION_DAYS``."""

    optional_arguments = ("days",)
    timeout = 600

    def execute(self, arguments: dict[str, Any]) -> None:
        days = int(arguments.get("days") or INGESTED_REPORT_RETENTION_DAYS)
        deleted = ingested_reports_delete_older_than(days=days)
        logger.info("ingested report cleanup: %d marks older than %d days deleted", deleted, days)


@register_action
class RejectedReportCleanup(Action):
    """Keeps the refused uploads under the reports store's ``errors/`` to ``REJECTED_REPORT_RETENTION_DAYS``."""

    optional_arguments = ("days",)
    timeout = 600

    def execute(self, arguments: dict[str, Any]) -> None:
        days = arguments.get("days")
        deleted = rejected_reports_delete_older_than(days=int(days) if days is not None else None)
        logger.info("rejected report cleanup: %d refused uploads deleted", deleted)


@register_action
class RequeueStalledReports(Action):
    """Queue reports again whose message was lost, once nothing else can be holding it (``reports_stalled_requeue``:
    a lease on each report, a wait longer than a live message stays out of sight, and no backlog)."""

    timeout = 120
    retry = RetryPolicy(max_attempts=2, backoff=60)

    def execute(self, arguments: dict[str, Any]) -> None:
        reports_stalled_requeue()


register_periodic(RequeueStalledReports, every=timedelta(seconds=settings.REPORT_REQUEUE_CHECK_SECONDS))
register_periodic(IngestedReportCleanup, every=timedelta(days=1))
register_periodic(RejectedReportCleanup, every=timedelta(days=1))
register_self_test_check(write_connections_check)
