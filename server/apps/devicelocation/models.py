"""Device locations: where a device (or a data block's device, while it was recorded) was at a given time."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from server.apps.core.models import CreatedModel, TargetedModel
from server.apps.core.scoping import Ability, ScopedQuerySet


class DeviceLocation(TargetedModel, CreatedModel):
    timestamp = models.DateTimeField(default=timezone.now)
    # The same precision as the device's own lat/lon.
    lat = models.DecimalField(
        max_digits=12, decimal_places=9, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    lon = models.DecimalField(
        max_digits=12, decimal_places=9, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )

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
            models.CheckConstraint(condition=models.Q(lat__gte=-90, lat__lte=90), name="devicelocation_lat_range"),
            models.CheckConstraint(condition=models.Q(lon__gte=-180, lon__lte=180), name="devicelocation_lon_range"),
        ]

    def __str__(self) -> str:
        return f"{self.target} at {self.timestamp:%Y-%m-%d %H:%M}: {self.lat}, {self.lon}"


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
VIEW_LOCATIONS = Ability("view_devicelocation", DeviceLocation, "view")
