"""Housekeeping of the ingest: the streamdata commit marks (``IngestedReport``) of processed reports are dropped once
no retry can need them (the daily ``IngestedReportCleanup`` action)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from server.apps.streamer.models import IngestedReport, ReportStatus, StreamerReport

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
