"""Reports (the iotile.cloud ``report`` feature, iotile_cloud.md §2): a ``UserReport`` is a template (which of a
project's streams, over which window, aggregated how, in which format) and a ``GeneratedUserReport`` is one run of
it by the worker, with its status, progress and file in the ``reports`` store (docs/reports.md)."""

from __future__ import annotations

import uuid

from django.db import models

from server.apps.core.models import CreatedModel
from server.apps.core.scoping import Ability, ScopedQuerySet

# The store that holds generated report files.
REPORT_STORE = "reports"

REPORT_SCOPE_PERMISSIONS = {
    "view": "can_access_reports",
    "add": "can_create_reports",
    "change": "can_create_reports",
    "delete": "can_create_reports",
}


class ReportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    HTML = "html", "HTML with charts"


class ReportAggregation(models.TextChoices):
    """Every reading, or the count, mean, minimum and maximum per time bucket (aligned on the epoch, UTC)."""

    RAW = "raw", "Every reading"
    MINUTE = "minute", "Per minute"
    HOUR = "hour", "Per hour"
    DAY = "day", "Per day"


AGGREGATION_SECONDS = {ReportAggregation.MINUTE: 60, ReportAggregation.HOUR: 3600, ReportAggregation.DAY: 86400}


class ReportStatus(models.TextChoices):
    SCHEDULED = "GS", "Scheduled"
    GENERATING = "G0", "In progress"
    GENERATED = "G1", "Generated"
    ERROR = "GE", "Error"


class ReportSettings(models.Model):
    """What a report reads and how it writes it, shared by the template and each run (a run keeps the settings it
    was made with, so editing the template changes no report already scheduled)."""

    # Stream slugs (s--) of the project; empty: every stream of the project's devices.
    sources = models.JSONField(default=list, blank=True)
    # The window, half-open [start, end); None leaves that side open.
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    aggregation = models.CharField(max_length=6, choices=ReportAggregation.choices, default=ReportAggregation.RAW)
    format = models.CharField(max_length=4, choices=ReportFormat.choices, default=ReportFormat.CSV)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = REPORT_SCOPE_PERMISSIONS

    class Meta:
        abstract = True


class UserReport(ReportSettings, CreatedModel):
    id = models.BigAutoField(primary_key=True)
    label = models.CharField(max_length=100)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="reports")
    project = models.ForeignKey("project.Project", on_delete=models.CASCADE, related_name="reports")

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__isnull=True)
                | models.Q(end__isnull=True)
                | models.Q(start__lt=models.F("end")),
                name="userreport_window_order",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class GeneratedUserReport(ReportSettings, CreatedModel):
    """One run of a template. ``progress`` is a percentage the worker moves while it writes; the file is in the
    ``reports`` store at ``file_key`` once the status is ``G1``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    label = models.CharField(max_length=100)
    report = models.ForeignKey(UserReport, on_delete=models.SET_NULL, null=True, blank=True, related_name="generated")
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="generated_reports")
    project = models.ForeignKey("project.Project", on_delete=models.CASCADE, related_name="generated_reports")
    status = models.CharField(max_length=2, choices=ReportStatus.choices, default=ReportStatus.SCHEDULED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of the report written so far.")
    error = models.TextField(blank=True)
    row_count = models.PositiveBigIntegerField(default=0, help_text="Readings (or buckets) the report holds.")
    file_key = models.CharField(max_length=255, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    completed_on = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_on"]

    def __str__(self) -> str:
        return f"{self.label} ({self.id})"

    @property
    def done(self) -> bool:
        return self.status in (ReportStatus.GENERATED, ReportStatus.ERROR)


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
VIEW_REPORTS = Ability("view_userreport", UserReport, "view")
ADD_REPORTS = Ability("add_userreport", UserReport, "add")
