"""Device locations on the wire: ``lat`` and ``lon`` as numbers."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.device.api.serializers import coordinate_field
from server.apps.device.models import MAX_LATITUDE, MAX_LONGITUDE


class DeviceLocationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    target = serializers.CharField(
        required=False, max_length=200, help_text="A d-- or b-- slug; ?target= when left out."
    )
    timestamp = serializers.DateTimeField(required=False, help_text="ISO 8601; now when left out.")
    lat = coordinate_field(MAX_LATITUDE)
    lon = coordinate_field(MAX_LONGITUDE)
    user = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    created_on = serializers.DateTimeField(read_only=True)


class DeviceLocationUpdateSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField(required=False)
    lat = coordinate_field(MAX_LATITUDE, required=False)
    lon = coordinate_field(MAX_LONGITUDE, required=False)
