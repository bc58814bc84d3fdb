"""Files devices upload when asked (Kanto's AutoUploadable, peer_systems.md §3).

An ``upload`` operation asks the device for its files; the device asks to upload each one, and each becomes a
``DeviceUpload`` with its own ``uploadfile`` operation, whose request carries the upload URL (an S3 presigned PUT, or
a signed link to this site on folder stores). The device's status reports (PENDING, UPLOADING, PAUSED, SUCCESS,
FAILED, CANCELED with their progress) answer that operation; a SUCCESS is checked against the checksum the device
gave before the upload counts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.db import models

from server.apps.core.models import CreatedModel, CreatedOnModel
from server.apps.core.scoping import STAFF_ONLY, ScopedQuerySet

UPLOAD_STORE = "uploads"


class DeviceUpload(CreatedOnModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="uploads")
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="+")
    trigger = models.ForeignKey("operation.DeviceOperation", on_delete=models.CASCADE, related_name="+")
    operation = models.OneToOneField("operation.DeviceOperation", on_delete=models.CASCADE, related_name="upload")
    correlation_id = models.CharField(max_length=120, help_text="<trigger>#<n>, as the device named it.")
    name = models.CharField(max_length=255)
    key = models.CharField(max_length=500, help_text="Its key in the uploads store.")
    checksum = models.CharField(max_length=80, blank=True, help_text="What the device said: md5:<hex> or sha256:<hex>.")
    size = models.PositiveBigIntegerField(null=True, blank=True, help_text="The stored file's size.")
    state = models.CharField(max_length=12, default="REQUESTED", help_text="The device's latest state (Kanto's).")
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    # Only devices write them; users read them and start them with an upload operation.
    scope_permissions = {"add": STAFF_ONLY, "change": STAFF_ONLY, "delete": STAFF_ONLY}

    class Meta:
        ordering = ["-created_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "correlation_id"], name="deviceupload_unique_correlation"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.name} ({self.state})"

    @property
    def window(self) -> tuple[datetime | None, datetime | None] | None:
        """The upload window its trigger asked for (either edge may be open), or None."""
        payload = self.trigger.payload or {}
        if "from" not in payload and "to" not in payload:
            return None
        edges = (payload.get("from"), payload.get("to"))
        return tuple(None if edge is None else datetime.fromtimestamp(edge / 1000, UTC) for edge in edges)  # type: ignore[return-value]


MAX_EVERY_HOURS = 24 * 30


class UploadSchedule(CreatedModel):
    """Ask a device, or every current member of a fleet, for its files every ``every_hours``: when it is due, the
    worker (``RunUploadSchedules``) makes the ``upload`` operations, each with the window since the previous run."""

    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(
        "device.Device", on_delete=models.CASCADE, null=True, blank=True, related_name="upload_schedules"
    )
    fleet = models.ForeignKey(
        "fleet.Fleet", on_delete=models.CASCADE, null=True, blank=True, related_name="upload_schedules"
    )
    every_hours = models.PositiveIntegerField(help_text=f"1 to {MAX_EVERY_HOURS}.")
    files = models.CharField(max_length=200, blank=True, help_text="A file filter (a glob, Kanto's files option).")
    enabled = models.BooleanField(default=True)
    next_run = models.DateTimeField(help_text="When the worker next asks.")
    last_run = models.DateTimeField(null=True, blank=True)
    last_count = models.PositiveIntegerField(default=0, help_text="Operations made by the last run.")
    last_error = models.TextField(blank=True, help_text="Why the last run made nothing, if it did not.")

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    # Who may ask a device for its files (an upload operation) may schedule it.
    scope_permissions = {"add": "can_modify_device", "change": "can_modify_device", "delete": "can_modify_device"}

    class Meta:
        ordering = ["-created_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(device__isnull=False, fleet__isnull=True)
                | models.Q(device__isnull=True, fleet__isnull=False),
                name="uploadschedule_device_xor_fleet",
            ),
            models.CheckConstraint(
                condition=models.Q(every_hours__gte=1, every_hours__lte=MAX_EVERY_HOURS),
                name="uploadschedule_every_hours_range",
            ),
        ]
        indexes = [
            models.Index(fields=["next_run"], name="uploadschedule_due", condition=models.Q(enabled=True)),
        ]

    def __str__(self) -> str:
        return f"uploads every {self.every_hours} h for {self.device_id or self.fleet_id}"
