"""Over-the-air software updates (the iotile.cloud contract, iotile_cloud.md §2 and §4).

A ``DeviceScript`` (``z--``) is an update package in the ``apps`` store. A ``DeploymentRequest`` releases a script
to a fleet (or to all of the organisation's devices) for the devices that meet its selection criteria. The device's
updater (``iotile-ext-cloud``'s ``ota_updater``) fetches the deployments, runs the script and reports the attempt,
a ``DeploymentAction``. The device itself confirms the update: the version streams it reports (0x5c08 for its OS,
0x5c09 for its app) update its ``DeviceVersionAttribute`` rows during ingest, and a version that reaches the
deployment's ``side_effect`` confirms the action.
"""

from __future__ import annotations

from django.db import models

from server.apps.core import slugs
from server.apps.core.models import CreatedModel, CreatedOnModel
from server.apps.core.scoping import STAFF_ONLY, ScopedQuerySet

OTA_SCOPE_PERMISSIONS = {
    "add": "can_manage_ota",
    "change": "can_manage_ota",
    "delete": "can_manage_ota",
}

# The store that holds the scripts' files.
SCRIPT_STORE = "apps"


class DeviceScript(CreatedModel):
    id = models.BigAutoField(primary_key=True)
    # Always script_slug(id); kept in the table so lookups and lists need no formatting.
    slug = models.CharField(max_length=16, unique=True, editable=False)
    name = models.CharField(max_length=100)
    major_version = models.PositiveIntegerField(default=0)
    minor_version = models.PositiveIntegerField(default=0)
    patch_version = models.PositiveIntegerField(default=0)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="device_scripts")
    file_key = models.CharField(max_length=255, help_text="The script's key in the apps store.")
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64)
    notes = models.TextField(blank=True)
    released = models.BooleanField(default=False)
    released_on = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = OTA_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "name", "major_version", "minor_version", "patch_version"],
                name="devicescript_unique_version_per_org",
            ),
            models.CheckConstraint(
                condition=models.Q(id__lt=1 << slugs.SCRIPT_BITS), name="devicescript_id_fits_32_bits"
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def version(self) -> str:
        return f"v{self.major_version}.{self.minor_version}.{self.patch_version}"


class DeploymentRequest(CreatedModel):
    """A script released to the devices of a fleet (``fleet`` null: every device of the organisation) that meet
    every one of ``selection_criteria`` (``"os_tag:eq:1024"``, ``"app_version:gte:1.2"``; ``criteria.py``)."""

    id = models.BigAutoField(primary_key=True)
    script = models.ForeignKey(DeviceScript, on_delete=models.RESTRICT, related_name="deployments")
    fleet = models.ForeignKey(
        "fleet.Fleet", on_delete=models.RESTRICT, null=True, blank=True, related_name="deployments"
    )
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="deployments")
    selection_criteria = models.JSONField(default=list, blank=True)
    # The versions a device reports once the script ran: {"os_tag": 1024, "os_version": "2.1", "app_tag": …,
    # "app_version": …} (any of them). The device's own version stream matching them confirms the update.
    side_effect = models.JSONField(default=dict, blank=True)
    released_on = models.DateTimeField(null=True, blank=True, help_text="Devices see the deployment from then on.")
    completed_on = models.DateTimeField(null=True, blank=True)
    canceled_on = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = OTA_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"deployment {self.pk}"


class DeploymentAction(CreatedOnModel):
    """One device's progress on one deployment: its updater's latest attempt, and the device's confirmation (its
    version stream shows the deployment's side effect)."""

    deployment = models.ForeignKey(DeploymentRequest, on_delete=models.CASCADE, related_name="actions")
    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="deployment_actions")
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_on = models.DateTimeField(null=True, blank=True)
    attempt_successful = models.BooleanField(default=False)
    device_confirmation = models.BooleanField(default=False)
    confirmed_on = models.DateTimeField(null=True, blank=True)
    log = models.TextField(blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "deployment__org"
    # The device's updater reports attempts: any member who may see the deployment may add one.
    scope_permissions = {"change": "can_manage_ota", "delete": "can_manage_ota"}

    class Meta:
        ordering = ["deployment_id", "device_id"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "device"], name="deploymentaction_unique_device"),
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id}: {self.device_id}"


class VersionType(models.TextChoices):
    OS = "os", "Operating system"
    APP = "app", "Application"


class DeviceVersionAttribute(models.Model):
    """The OS or app tag and version a device last reported on its version stream (0x5c08 OS, 0x5c09 app; each
    value is ``tag | minor << 20 | major << 26``)."""

    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="version_attributes")
    type = models.CharField(max_length=3, choices=VersionType.choices)
    tag = models.PositiveIntegerField()
    major_version = models.PositiveSmallIntegerField()
    minor_version = models.PositiveSmallIntegerField()
    streamer_local_id = models.BigIntegerField(default=0, help_text="The reading that reported it.")
    updated_ts = models.DateTimeField(help_text="When the device reported it.")

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "device__org"
    scope_permissions = {"add": STAFF_ONLY, "change": STAFF_ONLY, "delete": STAFF_ONLY}

    class Meta:
        ordering = ["device_id", "type"]
        constraints = [
            models.UniqueConstraint(fields=["device", "type"], name="deviceversionattribute_unique_type"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.type} {self.tag} {self.version}"

    @property
    def version(self) -> str:
        return f"{self.major_version}.{self.minor_version}"
