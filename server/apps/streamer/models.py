"""Streamers (a device's report channels) and the streamer reports uploaded through them."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from server.apps.core.models import CreatedModel, CreatedOnModel
from server.apps.core.scoping import STAFF_ONLY, Ability, ScopedQuerySet

# Selectors (iotile_clients.md §4): bit 11 marks system streams, bit 15 includes reboot ("break") readings.
SYSTEM_SELECTOR_BIT = 0x800


class Streamer(CreatedOnModel):
    slug = models.CharField(max_length=32, unique=True, editable=False)
    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="streamers")
    index = models.PositiveIntegerField()
    selector = models.PositiveIntegerField(default=0xFFFF)
    is_system = models.BooleanField(default=False)
    # The highest reading id committed from this streamer: readings at or below it are already stored.
    last_id = models.BigIntegerField(default=0)
    last_reboot_ts = models.DateTimeField(null=True, blank=True)
    process_engine_ver = models.PositiveSmallIntegerField(default=2)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "device__org"
    scope_permissions = {"add": STAFF_ONLY, "change": STAFF_ONLY, "delete": STAFF_ONLY}

    class Meta:
        ordering = ["device", "index"]
        constraints = [models.UniqueConstraint(fields=["device", "index"], name="streamer_unique_index_per_device")]

    def __str__(self) -> str:
        return self.slug


class ReportStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    PROCESSING = "processing", "Processing"
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"


class StreamerReport(CreatedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    streamer = models.ForeignKey(Streamer, on_delete=models.CASCADE, related_name="reports")
    # The ids the report declares, and the range of ids that were new and committed (0/0 when none).
    original_first_id = models.BigIntegerField(default=0)
    original_last_id = models.BigIntegerField(default=0)
    actual_first_id = models.BigIntegerField(default=0)
    actual_last_id = models.BigIntegerField(default=0)
    # When the server received the report (the upload's ?timestamp=), and the device's uptime when it sent it.
    sent_timestamp = models.DateTimeField()
    device_sent_timestamp = models.BigIntegerField(default=0)
    incremental_id = models.BigIntegerField(default=0)
    # The streamer's last_id when the report arrived: the worker drops readings at or below it (they were stored
    # already). Not the last_id at processing time, so a report processed after a later one loses nothing.
    last_id_at_upload = models.BigIntegerField(default=0)
    # Readings (and events) the report declares; what the upload answered as new; what the worker committed as
    # new; what it dropped as already stored (ids at or below last_id, or rows that were there); what it skipped
    # (disabled or unknown streams, reboot readings of a user streamer).
    reading_count = models.PositiveIntegerField(default=0)
    upload_count = models.PositiveIntegerField(default=0)
    new_reading_count = models.PositiveIntegerField(default=0)
    duplicate_reading_count = models.PositiveIntegerField(default=0)
    skipped_reading_count = models.PositiveIntegerField(default=0)
    event_count = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    file_key = models.CharField(max_length=400, blank=True)
    file_size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=ReportStatus.choices, default=ReportStatus.SCHEDULED)
    error = models.TextField(blank=True)
    processed_on = models.DateTimeField(null=True, blank=True)
    # When its queue message was last seen: delivered to a worker (each delivery), or queued again by the
    # stalled-report sweep (``reports_stalled_requeue``), which leaves a report alone while this is recent.
    message_seen_on = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "streamer__device__org"
    scope_permissions = {"add": "can_create_stream_data", "change": STAFF_ONLY, "delete": STAFF_ONLY}

    class Meta:
        ordering = ["-created_on"]
        indexes = [
            models.Index(fields=["streamer", "-created_on"], name="streamerreport_streamer_recent"),
            # The acknowledgement's look at the reports whose ids reach above the streamer's last_id.
            models.Index(fields=["streamer", "original_last_id"], name="streamerreport_streamer_ids"),
            # The stalled-report sweep's look at the reports still waiting (few at any time).
            models.Index(
                fields=["created_on"], name="streamerreport_scheduled", condition=models.Q(status="scheduled")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.streamer} report {self.incremental_id}"


class RejectedReport(CreatedModel):
    """A refused upload kept for diagnosis in the reports store's ``errors/`` area, with the reason beside it.

    The rows count what each organisation (or, for a device nobody may see, each account) keeps there, against
    ``REJECTED_REPORT_QUOTA_BYTES``; the daily ``RejectedReportCleanup`` drops files and rows after
    ``REJECTED_REPORT_RETENTION_DAYS``. Staff only."""

    file_key = models.CharField(max_length=400, unique=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.PositiveIntegerField(default=0)
    reason = models.TextField(blank=True)
    org = models.ForeignKey("org.Org", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_on = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_on"]

    def __str__(self) -> str:
        return self.file_key


class IngestedReport(CreatedOnModel):
    """The mark, in the streamdata database, that a part of a report's readings is committed there.

    It is written in the same transaction as the readings, so after a crash the worker knows whether the rows are in
    (then it only finishes the bookkeeping in the default database) or not (then it writes them again). This keeps
    readings without a streamer id, which no unique index protects, from being stored twice by a retry. A large
    report is written in ``part``s at once, on several connections, each part in its own transaction with its own
    mark; a small one is part 0 alone.
    """

    database_alias = "streamdata"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    report_id = models.UUIDField()
    part = models.PositiveSmallIntegerField(default=0)
    streamer_slug = models.CharField(max_length=32)
    new_reading_count = models.PositiveIntegerField(default=0)
    duplicate_reading_count = models.PositiveIntegerField(default=0)
    first_id = models.BigIntegerField(default=0)
    last_id = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["streamer_slug"], name="ingestedreport_streamer")]
        constraints = [models.UniqueConstraint(fields=["report_id", "part"], name="ingestedreport_report_part")]

    def __str__(self) -> str:
        return f"{self.streamer_slug} report {self.report_id} part {self.part}"


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
ADD_REPORTS = Ability("add_streamerreport", StreamerReport, "add")
