"""Data blocks: a device's data archived under a ``b--`` slug so the device can be reused."""

from __future__ import annotations

from django.db import models

from server.apps.core import slugs
from server.apps.core.models import CreatedModel
from server.apps.core.scoping import Ability, ScopedQuerySet


class ArchiveStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ARCHIVING = "archiving", "Archiving"
    COMPLETED = "completed", "Completed"


class DataBlock(CreatedModel):
    slug = models.CharField(max_length=24, unique=True, editable=False)
    title = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="datablocks")
    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="datablocks")
    block = models.PositiveIntegerField()
    sg = models.ForeignKey(
        "sensorgraph.SensorGraph", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    completed_on = models.DateTimeField(null=True, blank=True)
    # Progress of the archive worker, shown while it moves the device's data into the block.
    status = models.CharField(max_length=10, choices=ArchiveStatus.choices, default=ArchiveStatus.SCHEDULED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of the data moved so far.")
    # What the device becomes once archived: {"state": "N0"|"N1", "label": "..."}; empty keeps the device active.
    on_complete = models.JSONField(default=dict, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_access_datablock",
        "add": "can_create_datablock",
        "change": "can_create_datablock",
        "delete": "can_delete_datablock",
    }

    class Meta:
        ordering = ["device", "block"]
        constraints = [
            models.UniqueConstraint(fields=["device", "block"], name="datablock_unique_block_per_device"),
            models.CheckConstraint(
                condition=models.Q(block__gt=0, block__lt=1 << slugs.BLOCK_BITS), name="datablock_block_range"
            ),
        ]

    def __str__(self) -> str:
        return self.slug


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
VIEW_DATABLOCKS = Ability("view_datablock", DataBlock, "view")
