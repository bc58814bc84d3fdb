"""Housekeeping of the ingest: the streamdata commit marks (``IngestedReport``) of processed reports are dropped once
no retry can need them (the daily ``IngestedReportCleanup`` action), and refused uploads kept for diagnosis once
they are older than ``REJECTED_REPORT_RETENTION_DAYS`` (the daily ``RejectedReportCleanup``)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from server.apps.stores.services import store_file_delete
from server.apps.streamer.models import IngestedReport, RejectedReport, ReportStatus, StreamerReport
from server.apps.streamer.services.upload import REPORT_STORE

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
