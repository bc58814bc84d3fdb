"""Device health: OK, FAIL or UNK, from when the platform last heard from a device and how often it should."""

from __future__ import annotations

from datetime import timedelta

from django.db import models

from server.apps.core.scoping import Ability, ScopedQuerySet


class HealthStatus(models.TextChoices):
    OK = "OK", "OK"
    FAIL = "FAIL", "Failing"
    UNK = "UNK", "Unknown"


class DeviceHealth(models.Model):
    """A device's health. ``period``: how long the device may stay quiet (no report, no message) and still be OK;
    ``recipients``: the e-mail addresses told of each change of state, one a line."""

    device = models.OneToOneField("device.Device", on_delete=models.CASCADE, primary_key=True, related_name="health")
    period = models.DurationField(default=timedelta(hours=1))
    status = models.CharField(max_length=4, choices=HealthStatus.choices, default=HealthStatus.UNK)
    changed_on = models.DateTimeField(null=True, blank=True)
    recipients = models.TextField(blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "device__org"
    # Whoever sees the device sees its health; its owners and administrators set the period and the recipients.
    scope_permissions = {
        "view": None,
        "add": "can_manage_org_and_projects",
        "change": "can_manage_org_and_projects",
        "delete": "can_manage_org_and_projects",
    }

    def __str__(self) -> str:
        return f"{self.device_id}: {self.status}"

    @property
    def recipient_list(self) -> list[str]:
        return [line.strip() for line in self.recipients.splitlines() if line.strip()]


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
CHANGE_HEALTH = Ability("change_devicehealth", DeviceHealth, "change")
