"""Device templates: the hardware a device is built from."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DeviceTemplate(models.Model):
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
    created_on = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

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
