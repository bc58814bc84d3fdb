"""Notes: timestamped text on a stream, device, project or data block, written by people or by the platform."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from server.apps.core.models import CreatedModel, TargetedModel
from server.apps.core.scoping import Ability, ScopedQuerySet


class NoteType(models.TextChoices):
    USER = "ui", "User note"
    SYSTEM_CRITICAL = "sc", "System (critical)"
    SYSTEM_INFO = "si", "System (information)"
    FILTER = "fi", "Filter"


class StreamNote(TargetedModel, CreatedModel):
    type = models.CharField(max_length=2, choices=NoteType.choices, default=NoteType.USER)
    timestamp = models.DateTimeField(default=timezone.now, help_text="When what it says happened.")
    note = models.TextField()
    # A key in the "contents" store, or empty.
    attachment = models.CharField(max_length=300, blank=True)

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


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
VIEW_NOTES = Ability("view_streamnote", StreamNote, "view")
