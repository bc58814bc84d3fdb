"""Device templates: the hardware a device is built from, as components (tiles) in numbered slots."""

from __future__ import annotations

from django.db import models

from server.apps.core.models import CreatedModel


class DeviceTemplate(CreatedModel):
    external_sku = models.CharField(max_length=50)
    internal_sku = models.CharField(max_length=50, blank=True)
    family = models.CharField(max_length=50, blank=True)
    slug = models.SlugField(max_length=80, unique=True)
    major_version = models.PositiveIntegerField(default=0)
    minor_version = models.PositiveIntegerField(default=0)
    patch_version = models.PositiveIntegerField(default=0)
    os_tag = models.PositiveIntegerField(default=0)
    os_major_version = models.PositiveIntegerField(default=0)
    os_minor_version = models.PositiveIntegerField(default=0)
    hw_tag = models.CharField(max_length=20, blank=True)
    hw_major_version = models.PositiveIntegerField(default=0)
    org = models.ForeignKey("org.Org", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    released_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["external_sku", "major_version", "minor_version", "patch_version"]

    def __str__(self) -> str:
        return self.slug

    @property
    def version(self) -> str:
        return f"v{self.major_version}.{self.minor_version}.{self.patch_version}"

    @property
    def os_version(self) -> str:
        return f"{self.os_major_version}.{self.os_minor_version}"


class ComponentType(models.TextChoices):
    CONTROLLER = "BTC", "Controller tile"
    SENSOR = "SEN", "Sensor tile"
    COMMUNICATION = "COM", "Communication tile"
    IOTILE = "IOT", "Other IOTile"


class Component(CreatedModel):
    """A hardware part (a tile) that device templates are assembled from."""

    external_sku = models.CharField(max_length=50)
    internal_sku = models.CharField(max_length=50, blank=True)
    slug = models.SlugField(max_length=80, unique=True)
    type = models.CharField(max_length=3, choices=ComponentType.choices, default=ComponentType.IOTILE)
    description = models.TextField(blank=True)
    major_version = models.PositiveIntegerField(default=0)
    minor_version = models.PositiveIntegerField(default=0)
    patch_version = models.PositiveIntegerField(default=0)
    hw_tag = models.CharField(max_length=20, blank=True)
    hw_name = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["external_sku", "major_version", "minor_version", "patch_version"]

    def __str__(self) -> str:
        return self.slug

    @property
    def version(self) -> str:
        return f"v{self.major_version}.{self.minor_version}.{self.patch_version}"


class DeviceSlot(models.Model):
    """The component in slot ``number`` of a device template. A component in use cannot be deleted."""

    template = models.ForeignKey(DeviceTemplate, on_delete=models.CASCADE, related_name="slots")
    component = models.ForeignKey(Component, on_delete=models.PROTECT, related_name="slots")
    number = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["template", "number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="deviceslot_unique_number")]

    def __str__(self) -> str:
        return f"{self.template} slot {self.number}"
