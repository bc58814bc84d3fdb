"""Secrets that belong to a device: the root keys that sign reports, API keys, device-token signing keys, MQTT
credentials and the claim key."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

from server.apps.core.models import CreatedModel
from server.apps.core.scoping import STAFF_ONLY, ScopedQuerySet


class DeviceKeyType(models.TextChoices):
    USER = "USR", "User key (signs and encrypts reports, flag 1)"
    DEVICE = "DEV", "Device key (signs and encrypts reports, flag 2)"
    SSH = "SSH", "SSH key"
    API_KEY = "X-API-KEY", "API key"
    A_JWT = "A-JWT-KEY", "Device token signing key (a-jwt)"
    MQTT = "MQTT", "MQTT credentials"
    CLAIM = "CLAIM", "Claim key (a device that has one is claimed only with it)"


# A key's public name, in URLs (``device/<d>/key/?type=``, ``device/<d>/keys/<name>/``) and on the staff page.
DEVICE_KEY_NAMES = {
    "usr": DeviceKeyType.USER,
    "dev": DeviceKeyType.DEVICE,
    "ssh": DeviceKeyType.SSH,
    "x-api-key": DeviceKeyType.API_KEY,
    "mqtt": DeviceKeyType.MQTT,
    "claim": DeviceKeyType.CLAIM,
    "a-jwt": DeviceKeyType.A_JWT,
}
DEVICE_KEY_NAME_OF = {key_type: name for name, key_type in DEVICE_KEY_NAMES.items()}

# Root keys that sign (and encrypt) reports are 32 bytes, kept as 64 hex digits.
ROOT_KEY_TYPES = ("USR", "DEV")
ROOT_KEY_PATTERN = re.compile(r"^[0-9a-fA-F]{64}$")


class DeviceKey(CreatedModel):
    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="keys")
    type = models.CharField(max_length=12, choices=DeviceKeyType.choices)
    secret = models.TextField()
    downloadable = models.BooleanField(default=False)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "device__org"
    scope_permissions = {"view": STAFF_ONLY, "add": STAFF_ONLY, "change": STAFF_ONLY, "delete": STAFF_ONLY}

    class Meta:
        ordering = ["device", "type"]
        constraints = [models.UniqueConstraint(fields=["device", "type"], name="devicekey_unique_type_per_device")]

    def __str__(self) -> str:
        return f"{self.device} {self.type}"

    def clean(self) -> None:
        if self.type in ROOT_KEY_TYPES and not ROOT_KEY_PATTERN.match(self.secret or ""):
            raise ValidationError({"secret": "A user or device key is 32 bytes written as 64 hex digits."})

    @property
    def root_key(self) -> bytes:
        """The 32-byte root key of a user or device key."""
        return bytes.fromhex(self.secret)
