"""Notes: timestamped text on a stream, device, project or data block, written by people or by the platform."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from server.apps.core.scoping import ScopedQuerySet
from server.apps.core.targets import KIND_CHOICES


class NoteType(models.TextChoices):
    USER = "ui", "User note"
    SYSTEM_CRITICAL = "sc", "System (critical)"
    SYSTEM_INFO = "si", "System (information)"
    FILTER = "fi", "Filter"


class StreamNote(models.Model):
    target = models.CharField(max_length=200, help_text="The canonical slug of what it is about.")
    target_kind = models.CharField(max_length=8, choices=KIND_CHOICES)
    # The target's organisation when the note was written: what scopes it.
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    type = models.CharField(max_length=2, choices=NoteType.choices, default=NoteType.USER)
    timestamp = models.DateTimeField(default=timezone.now, help_text="When what it says happened.")
    note = models.TextField()
    # A key in the "contents" store, or empty.
    attachment = models.CharField(max_length=300, blank=True)
    created_on = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_read_notes",
        # Whoever reads a target's notes may add to them; editing or deleting one is a change to the device's record.
        "add": "can_read_notes",
        "change": "can_modify_device",
        "delete": "can_modify_device",
    }

    class Meta:
        ordering = ["timestamp", "id"]
        indexes = [models.Index(fields=["target", "org", "timestamp"], name="streamnote_target_time")]

    def __str__(self) -> str:
        return f"{self.target} {self.timestamp:%Y-%m-%d %H:%M}: {self.note[:40]}"
