"""Device locations on the wire: ``lat`` and ``lon`` as numbers."""

from __future__ import annotations

from rest_framework import serializers


def _coordinate(limit: int, **kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=12, decimal_places=9, min_value=-limit, max_value=limit, coerce_to_string=False, **kwargs
    )


class DeviceLocationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    target = serializers.CharField(
        required=False, max_length=200, help_text="A d-- or b-- slug; ?target= when left out."
    )
    timestamp = serializers.DateTimeField(required=False, help_text="ISO 8601; now when left out.")
    lat = _coordinate(90)
    lon = _coordinate(180)
    user = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    created_on = serializers.DateTimeField(read_only=True)


class DeviceLocationUpdateSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField(required=False)
    lat = _coordinate(90, required=False)
    lon = _coordinate(180, required=False)
