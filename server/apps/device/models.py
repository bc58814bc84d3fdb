"""Devices: the things that upload data. A device's integer id is its serial number and gives its ``d--`` slug."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import BaseValidator, MaxValueValidator, MinValueValidator
from django.db import models

from server.apps.core import slugs
from server.apps.core.models import CreatedModel
from server.apps.core.scoping import STAFF_ONLY, ScopedQuerySet

# A position on the globe, in degrees: a device's own lat/lon and its recorded locations (devicelocation) hold it, and
# every serializer and form that takes one refuses it past these limits.
MAX_LATITUDE = 90
MAX_LONGITUDE = 180


def within_degrees(limit: int) -> list[BaseValidator]:
    """The validators of a latitude (``MAX_LATITUDE``) or a longitude (``MAX_LONGITUDE``)."""
    return [MinValueValidator(-limit), MaxValueValidator(limit)]


class DeviceState(models.TextChoices):
    INACTIVE = "N0", "Inactive"
    ACTIVE = "N1", "Active"
    RESETTING = "B0", "Resetting (busy)"
    ARCHIVING = "B1", "Archiving (busy)"


class Device(CreatedModel):
    id = models.BigAutoField(primary_key=True)
    # Kept in the table so lists and joins need no formatting; always equal to device_slug(id).
    slug = models.CharField(max_length=24, unique=True, editable=False)
    label = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=64, blank=True, db_index=True)
    org = models.ForeignKey("org.Org", on_delete=models.SET_NULL, null=True, blank=True, related_name="devices")
    project = models.ForeignKey(
        "project.Project", on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    template = models.ForeignKey(
        "devicetemplate.DeviceTemplate", on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    sg = models.ForeignKey(
        "sensorgraph.SensorGraph", on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    lat = models.DecimalField(
        max_digits=12, decimal_places=9, null=True, blank=True, validators=within_degrees(MAX_LATITUDE)
    )
    lon = models.DecimalField(
        max_digits=12, decimal_places=9, null=True, blank=True, validators=within_degrees(MAX_LONGITUDE)
    )
    state = models.CharField(max_length=2, choices=DeviceState.choices, default=DeviceState.ACTIVE)
    active = models.BooleanField(default=True)
    last_known_id = models.BigIntegerField(default=0)
    last_reboot_ts = models.DateTimeField(null=True, blank=True)
    claimed_on = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "add": STAFF_ONLY,
        "change": "can_modify_device",
        "delete": STAFF_ONLY,
        # Claiming into and unclaiming out of an organisation.
        "claim": "can_claim_devices",
    }

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(id__lt=1 << slugs.DEVICE_BITS), name="device_id_fits_48_bits"),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_claimed(self) -> bool:
        return self.project_id is not None

    @property
    def gid(self) -> str:
        """The slug without its ``d--`` prefix."""
        return self.slug[3:]

    @property
    def busy(self) -> bool:
        return self.state in (DeviceState.RESETTING, DeviceState.ARCHIVING)
