"""Device locations: where a device (or a data block's device, while it was recorded) was at a given time."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from server.apps.core.scoping import ScopedQuerySet
from server.apps.core.targets import KIND_CHOICES


class DeviceLocation(models.Model):
    target = models.CharField(max_length=200, help_text="The canonical slug of the device or data block.")
    target_kind = models.CharField(max_length=8, choices=KIND_CHOICES)
    # The target's organisation when the location was recorded: what scopes it.
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    timestamp = models.DateTimeField(default=timezone.now)
    # The same precision as the device's own lat/lon.
    lat = models.DecimalField(
        max_digits=12, decimal_places=9, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    lon = models.DecimalField(
        max_digits=12, decimal_places=9, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_on = models.DateTimeField(default=timezone.now)

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
