"""Files devices upload when asked (Kanto's AutoUploadable, peer_systems.md §3).

An ``upload`` operation asks the device for its files; the device asks to upload each one, and each becomes a
``DeviceUpload`` with its own ``uploadfile`` operation, whose request carries the upload URL (an S3 presigned PUT, or
a signed link to this site on folder stores). The device's status reports (PENDING, UPLOADING, PAUSED, SUCCESS,
FAILED, CANCELED with their progress) answer that operation; a SUCCESS is checked against the checksum the device
gave before the upload counts.
"""

from __future__ import annotations

import uuid

from django.db import models

from server.apps.core.models import CreatedOnModel
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
