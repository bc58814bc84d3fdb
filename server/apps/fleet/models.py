"""Fleets (``g--``): named groups of an organisation's devices. Software updates are rolled out to a fleet, and a
fleet marked ``is_network`` is a gateway network: its access points manage the other members
(``IOTileCloud.get_whitelist``)."""

from __future__ import annotations

from django.db import models

from server.apps.core import slugs
from server.apps.core.models import CreatedModel
from server.apps.core.scoping import ScopedQuerySet

# Fleets decide where software updates go, so changing them is OTA management (the developer role).
FLEET_SCOPE_PERMISSIONS = {
    "add": "can_manage_ota",
    "change": "can_manage_ota",
    "delete": "can_manage_ota",
}


class Fleet(CreatedModel):
    id = models.BigAutoField(primary_key=True)
    # Always fleet_slug(id); kept in the table so lookups and lists need no formatting.
    slug = models.CharField(max_length=20, unique=True, editable=False)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="fleets")
    is_network = models.BooleanField(
        default=False, help_text="A gateway network: its access points manage the other members."
    )
    devices = models.ManyToManyField("device.Device", through="FleetMembership", related_name="fleets")

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = FLEET_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="fleet_unique_name_per_org"),
            models.CheckConstraint(condition=models.Q(id__lt=1 << slugs.FLEET_BITS), name="fleet_id_fits_48_bits"),
        ]

    def __str__(self) -> str:
        return self.slug


class FleetMembership(CreatedModel):
    """A device in a fleet. In a network fleet, an access point (a gateway) manages the other members;
    ``always_on`` members keep their radio on, so a gateway can reach them at any time."""

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="memberships")
    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="fleet_memberships")
    is_access_point = models.BooleanField(default=False)
    always_on = models.BooleanField(default=False)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "fleet__org"
    scope_permissions = FLEET_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["fleet_id", "device_id"]
        constraints = [
            models.UniqueConstraint(fields=["fleet", "device"], name="fleetmembership_unique_device_per_fleet"),
        ]

    def __str__(self) -> str:
        return f"{self.fleet_id}: {self.device_id}"
