"""Device locations: where a device (or a data block's device, while it was recorded) was at a given time."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from server.apps.core.models import CreatedModel, TargetedModel
from server.apps.core.scoping import Ability, ScopedQuerySet
from server.apps.device.models import MAX_LATITUDE, MAX_LONGITUDE, within_degrees


class DeviceLocation(TargetedModel, CreatedModel):
    timestamp = models.DateTimeField(default=timezone.now)
    # The same precision and range as the device's own lat/lon.
    lat = models.DecimalField(max_digits=12, decimal_places=9, validators=within_degrees(MAX_LATITUDE))
    lon = models.DecimalField(max_digits=12, decimal_places=9, validators=within_degrees(MAX_LONGITUDE))

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_read_device_locations",
        "add": "can_modify_device",
        "change": "can_modify_device",
        "delete": "can_modify_device",
    }

    class Meta:
        ordering = ["timestamp", "id"]
        indexes = [models.Index(fields=["target", "org", "timestamp"], name="devicelocation_target_time")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lat__gte=-MAX_LATITUDE, lat__lte=MAX_LATITUDE), name="devicelocation_lat_range"
            ),
            models.CheckConstraint(
                condition=models.Q(lon__gte=-MAX_LONGITUDE, lon__lte=MAX_LONGITUDE), name="devicelocation_lon_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target} at {self.timestamp:%Y-%m-%d %H:%M}: {self.lat}, {self.lon}"


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
VIEW_LOCATIONS = Ability("view_devicelocation", DeviceLocation, "view")
