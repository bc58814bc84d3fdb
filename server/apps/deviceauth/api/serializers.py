"""Device keys on the wire (iotile_clients.md §7 row 9: ``IOTileCloud.impersonate_device`` reads ``key``)."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.deviceauth.models import DeviceKeyType

# ``?type=`` values, compared case-insensitively. ``a-jwt`` returns a device token, never the signing key itself.
A_JWT = "a-jwt"
STORED_KEY_TYPES = {
    "usr": DeviceKeyType.USER,
    "dev": DeviceKeyType.DEVICE,
    "ssh": DeviceKeyType.SSH,
    "x-api-key": DeviceKeyType.API_KEY,
    "mqtt": DeviceKeyType.MQTT,
}
KEY_TYPE_CHOICES = [A_JWT, *STORED_KEY_TYPES]


class DeviceKeyQuerySerializer(serializers.Serializer):
    type = serializers.CharField(help_text=f"One of {', '.join(KEY_TYPE_CHOICES)} (any case).")

    def validate_type(self, value: str) -> str:
        value = value.strip().lower()
        if value not in KEY_TYPE_CHOICES:
            raise serializers.ValidationError(f"Unknown key type; expected one of {', '.join(KEY_TYPE_CHOICES)}.")
        return value


class DeviceKeySerializer(serializers.Serializer):
    key = serializers.CharField()
    type = serializers.CharField()
