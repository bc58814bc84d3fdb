"""Desired state (the Kanto update manager, peer_systems.md §3).

A ``DesiredState`` is one version of the document a device (or every device of a fleet) should match: domains with
their configuration and components, and optional baselines. Each version goes out as one ``desiredstate`` device
operation per device, all sharing the version's ``batch``; the operation's id is the activityId the device's feedback
names, and the feedback (Kanto's overall status and each action's status, progress and message) is the operation's
result. A ``DeviceCurrentState`` is the inventory a device last reported: its hardware and software nodes and how
they are associated.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from server.apps.core.models import CreatedModel
from server.apps.core.scoping import STAFF_ONLY, Ability, ScopedQuerySet

# Desired states decide what software devices run: managing them is OTA management (the developer role).
DESIRED_STATE_SCOPE_PERMISSIONS = {
    "add": "can_manage_ota",
    "change": "can_manage_ota",
    "delete": "can_manage_ota",
}


class DesiredState(CreatedModel):
    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="desired_states")
    # Exactly one of the two: the device, or the fleet whose members it went to.
    device = models.ForeignKey(
        "device.Device", on_delete=models.CASCADE, null=True, blank=True, related_name="desired_states"
    )
    fleet = models.ForeignKey(
        "fleet.Fleet", on_delete=models.CASCADE, null=True, blank=True, related_name="desired_states"
    )
    version = models.PositiveIntegerField(help_text="1, 2, … for its device or fleet.")
    document = models.JSONField(help_text="{domains: [{id, config, components}], baselines}")
    batch = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Its operations' batch.")
    device_count = models.PositiveIntegerField(default=0, help_text="The devices it went to.")
    canceled_on = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = DESIRED_STATE_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(device__isnull=True) ^ models.Q(fleet__isnull=True),
                name="desiredstate_device_xor_fleet",
            ),
            models.UniqueConstraint(
                fields=["device", "version"],
                condition=models.Q(device__isnull=False),
                name="desiredstate_device_version",
            ),
            models.UniqueConstraint(
                fields=["fleet", "version"], condition=models.Q(fleet__isnull=False), name="desiredstate_fleet_version"
            ),
        ]

    def __str__(self) -> str:
        return f"desired state {self.pk} v{self.version}"


class DeviceCurrentState(models.Model):
    """The inventory a device last reported on ``…/update/currentstate``."""

    device = models.OneToOneField(
        "device.Device", on_delete=models.CASCADE, primary_key=True, related_name="current_state"
    )
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    activity_id = models.CharField(max_length=80, blank=True, help_text="The activity it answered, if any.")
    hardware_nodes = models.JSONField(default=list, blank=True)
    software_nodes = models.JSONField(default=list, blank=True)
    associations = models.JSONField(default=list, blank=True)
    reported_on = models.DateTimeField(default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    # Only the device's messages write it.
    scope_permissions = {"add": STAFF_ONLY, "change": STAFF_ONLY, "delete": STAFF_ONLY}

    class Meta:
        ordering = ["device_id"]

    def __str__(self) -> str:
        return f"{self.device_id}: {len(self.software_nodes)} software nodes"


# What the dashboard's templates ask as ``can.<name>``.
CHANGE_DESIRED_STATES = Ability("change_desiredstate", DesiredState, "change")
