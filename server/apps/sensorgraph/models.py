"""Sensor graphs: the application a device runs, which decides the streams it produces."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SensorGraph(models.Model):
    name = models.CharField(max_length=50)
    slug = models.SlugField(max_length=80, unique=True)
    major_version = models.PositiveIntegerField(default=0)
    minor_version = models.PositiveIntegerField(default=0)
    patch_version = models.PositiveIntegerField(default=0)
    app_tag = models.PositiveIntegerField(default=0)
    app_major_version = models.PositiveIntegerField(default=0)
    app_minor_version = models.PositiveIntegerField(default=0)
    report_processing_engine_ver = models.PositiveSmallIntegerField(default=2)
    org = models.ForeignKey("org.Org", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    description = models.TextField(blank=True)
    ui_extra = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    created_on = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name", "major_version", "minor_version", "patch_version"]

    def __str__(self) -> str:
        return self.slug

    @property
    def version(self) -> str:
        return f"v{self.major_version}.{self.minor_version}.{self.patch_version}"

    @property
    def app_version(self) -> str:
        return f"{self.app_major_version}.{self.app_minor_version}"
