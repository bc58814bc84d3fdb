"""Device keys on the wire (iotile_clients.md §7 row 9: ``IOTileCloud.impersonate_device`` reads ``key``)."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.deviceauth.models import DEVICE_KEY_NAME_OF, DEVICE_KEY_NAMES

# ``?type=`` values, compared case-insensitively. ``a-jwt`` returns a device token, never the signing key itself.
A_JWT = "a-jwt"
STORED_KEY_TYPES = {name: key_type for name, key_type in DEVICE_KEY_NAMES.items() if name != A_JWT}
KEY_TYPE_CHOICES = [A_JWT, *STORED_KEY_TYPES]
# The keys staff manage at device/<d>/keys/, by the same names; here ``a-jwt`` is the token signing key itself.
MANAGED_KEY_TYPES = DEVICE_KEY_NAMES


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


def managed_key_type(name: str) -> str:
    """The stored type of a key named in a URL or a body (``usr``, ``a-jwt``… any case); ValidationError if none."""
    key_type = MANAGED_KEY_TYPES.get(str(name).strip().lower())
    if key_type is None:
        raise serializers.ValidationError(
            {"type": [f"Unknown key type; expected one of {', '.join(MANAGED_KEY_TYPES)}."]}
        )
    return key_type


class DeviceKeyInfoSerializer(serializers.Serializer):
    """A stored key without its secret: which one, whether members may download it, when and by whom it was set."""

    type = serializers.SerializerMethodField()
    description = serializers.CharField(source="get_type_display")
    downloadable = serializers.BooleanField()
    created_on = serializers.DateTimeField()
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)

    def get_type(self, key) -> str:
        return DEVICE_KEY_NAME_OF[key.type]


class DeviceKeySecretSerializer(DeviceKeyInfoSerializer):
    """A key as it was just set or rotated, with its secret (shown once; staff can download it later)."""

    secret = serializers.CharField()


class DeviceKeySetSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=list(MANAGED_KEY_TYPES))
    secret = serializers.CharField(
        required=False, allow_blank=True, max_length=4096, help_text="Leave out for a new random secret (not SSH)."
    )
    downloadable = serializers.BooleanField(default=False, help_text="Members who may modify the device may read it.")

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            data = {**data, "type": data["type"].strip().lower()}
        return super().to_internal_value(data)
