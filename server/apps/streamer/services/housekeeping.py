"""Housekeeping of the ingest: the streamdata commit marks (``IngestedReport``) of processed reports are dropped once
no retry can need them (the daily ``IngestedReportCleanup`` action), refused uploads kept for diagnosis once they
are older than ``REJECTED_REPORT_RETENTION_DAYS`` (the daily ``RejectedReportCleanup``), and reports whose queue
message was lost are queued again (``RequeueStalledReports``)."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from server.apps.stores.services import store_file_delete
from server.apps.streamer.models import IngestedReport, RejectedReport, ReportStatus, StreamerReport
from server.apps.streamer.services.upload import REPORT_STORE
from server.apps.worker.actions import get_action
from server.apps.worker.models import DeadLetter
from server.apps.worker.queue import enqueue_on_commit
from server.apps.worker.transports import get_transport

logger = logging.getLogger(__name__)

# A mark only matters while its report may still be retried; a month is far beyond any retry or requeue.
INGESTED_REPORT_RETENTION_DAYS = 30


def ingested_reports_delete_older_than(*, days: int = INGESTED_REPORT_RETENTION_DAYS, batch_size: int = 1000) -> int:
    """Drop the streamdata marks older than ``days`` whose report succeeded or no longer exists (a report that did
    not succeed keeps its mark, so a late requeue still cannot store its readings twice). Returns how many went."""
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, after = 0, None
    while True:
        batch = IngestedReport.objects.filter(created_on__lt=cutoff)
        if after is not None:
            batch = batch.filter(pk__gt=after)
        marks = list(batch.order_by("pk").values_list("pk", "report_id")[:batch_size])
        if not marks:
            return deleted
        after = marks[-1][0]
        pending = set(
            StreamerReport.objects.filter(pk__in={report_id for _, report_id in marks})
            .exclude(status=ReportStatus.SUCCESS)
            .values_list("pk", flat=True)
        )
        count, _ = IngestedReport.objects.filter(
            pk__in=[pk for pk, report_id in marks if report_id not in pending]
        ).delete()
        deleted += count


def rejected_reports_delete_older_than(*, days: int | None = None, batch_size: int = 500) -> int:
    """Delete the refused uploads kept under ``errors/`` (file, reason and row) older than ``days`` (default
    ``REJECTED_REPORT_RETENTION_DAYS``). The files go first: a row left by a crash is deleted on the next run, and
    a store outage stops the run (the worker retries it). Returns how many went."""
    cutoff = timezone.now() - datetime.timedelta(
        days=days if days is not None else settings.REJECTED_REPORT_RETENTION_DAYS
    )
    deleted = 0
    while True:
        batch = list(RejectedReport.objects.filter(created_on__lt=cutoff).order_by("pk")[:batch_size])
        if not batch:
            return deleted
        for rejected in batch:
            store_file_delete(store=REPORT_STORE, key=rejected.file_key)
            store_file_delete(store=REPORT_STORE, key=f"{rejected.file_key}.reason.txt")
        RejectedReport.objects.filter(pk__in=[rejected.pk for rejected in batch]).delete()
        deleted += len(batch)


# Claims the stalled reports: still scheduled, no sign of their message for ``after`` seconds (since the upload, its
# last delivery to a worker or the last requeue), and no dead letter waiting for them (staff requeue those). The
# claim is the report's lease: it moves ``message_seen_on`` to now, so another sweep (another worker, the next tick)
# leaves it for another full wait, and SKIP LOCKED keeps concurrent sweeps off each other's rows.
_STALLED_CLAIM = f"""
UPDATE {StreamerReport._meta.db_table} AS report SET message_seen_on = statement_timestamp()
WHERE report.id IN (
    SELECT r.id FROM {StreamerReport._meta.db_table} r
    WHERE r.status = %(scheduled)s
      AND coalesce(r.message_seen_on, r.created_on) < statement_timestamp() - make_interval(secs => %(after)s)
      AND NOT EXISTS (
          SELECT 1 FROM {DeadLetter._meta.db_table} d
          WHERE d.action = 'ProcessReport' AND d.requeued_at IS NULL AND d.arguments->>'report_id' = r.id::text
      )
    ORDER BY r.created_on
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING report.id
"""


def stalled_report_wait_seconds() -> float:
    """How long after the last sign of its message a report still ``scheduled`` counts as lost:
    ``REPORT_REQUEUE_AFTER_SECONDS``, and never less than a delivered message can stay out of sight (the longest
    retry backoff of ``ProcessReport``, plus its time limit and a lease), so a message in flight or waiting for its
    retry is never doubled."""
    action = get_action("ProcessReport")
    hidden = action.retry.max_backoff + (action.timeout or 0) + settings.WORKER_LEASE_SECONDS if action else 0.0
    return max(float(settings.REPORT_REQUEUE_AFTER_SECONDS), hidden)


def reports_stalled_requeue(*, limit: int = 1000) -> int:
    """Queue ``ProcessReport`` again for reports whose message was lost (SQS: the process died between the upload's
    commit and the send). Returns how many.

    Every delivery of a report's message marks the report (``message_seen_on``), so a message in flight or
    waiting for its retry shows within :func:`stalled_report_wait_seconds`. One still waiting its first turn shows
    nowhere: nothing is requeued while the reports' queue has messages ready (the sweep waits for a backlog to
    drain). Processing is idempotent in any case: a report that succeeded is left alone."""
    action = get_action("ProcessReport")
    queue = action.queue if action else "default"
    if get_transport().depth(queue=queue).ready:
        return 0
    parameters: dict[str, str | float] = {
        "scheduled": str(ReportStatus.SCHEDULED),
        "after": stalled_report_wait_seconds(),
        "limit": limit,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_STALLED_CLAIM, parameters)
        report_ids = [str(report_id) for (report_id,) in cursor.fetchall()]
        for report_id in report_ids:
            enqueue_on_commit("ProcessReport", {"report_id": report_id})
    if report_ids:
        logger.warning("%d stalled reports queued again: %s", len(report_ids), ", ".join(report_ids[:20]))
    return len(report_ids)
