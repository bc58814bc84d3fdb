"""Telemetry on the wire: raw messages, physical and logical devices (IoTa's shapes), mappings, integrations."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from server.apps.device.models import MAX_LATITUDE, MAX_LONGITUDE
from server.apps.telemetry.models import DeviceMapping, LogicalDevice, PhysicalDevice, RawMessage, TtnIntegration


def _location(lat: Any, lon: Any) -> dict[str, float] | None:
    if lat is None or lon is None:
        return None
    return {"lat": float(lat), "long": float(lon)}


class LocationSerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-MAX_LATITUDE, max_value=MAX_LATITUDE)
    long = serializers.FloatField(min_value=-MAX_LONGITUDE, max_value=MAX_LONGITUDE)


class CurrentMappingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    pd = serializers.IntegerField(source="physical_device_id")
    ld = serializers.IntegerField(source="logical_device_id")
    start = serializers.DateTimeField()
    is_active = serializers.BooleanField()


class RawMessageSerializer(serializers.ModelSerializer):
    device = serializers.CharField(source="device.slug", read_only=True, allow_null=True, default=None)
    org = serializers.CharField(source="org.slug", read_only=True, allow_null=True, default=None)
    ld = serializers.IntegerField(source="logical_device_id", read_only=True, allow_null=True)

    class Meta:
        model = RawMessage
        fields = [
            "correlation_id",
            "source",
            "source_message_id",
            "org",
            "device",
            "ld",
            "received_at",
            "status",
            "error",
            "body",
            "data_ids",
        ]
        read_only_fields = fields


class PhysicalDeviceSerializer(serializers.ModelSerializer):
    uid = serializers.IntegerField(source="device_id", read_only=True)
    slug = serializers.CharField(source="device.slug", read_only=True)
    name = serializers.CharField(source="device.label", read_only=True)
    org = serializers.CharField(source="org.slug", read_only=True)
    project = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    mapping = serializers.SerializerMethodField()

    class Meta:
        model = PhysicalDevice
        fields = [
            "uid",
            "slug",
            "name",
            "source_name",
            "source_ids",
            "properties",
            "location",
            "last_seen",
            "org",
            "project",
            "mapping",
            "created_on",
        ]
        read_only_fields = fields

    def get_project(self, obj: PhysicalDevice) -> str | None:
        project = obj.device.project
        return project.slug if project is not None else None

    @extend_schema_field(LocationSerializer(allow_null=True))
    def get_location(self, obj: PhysicalDevice) -> dict[str, float] | None:
        return _location(obj.device.lat, obj.device.lon)

    @extend_schema_field(CurrentMappingSerializer(allow_null=True))
    def get_mapping(self, obj: PhysicalDevice) -> dict[str, Any] | None:
        current = getattr(obj, "current_mappings", None)
        return CurrentMappingSerializer(current[0]).data if current else None


class PhysicalDeviceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    project = serializers.CharField(required=False, help_text="The project (p-- slug or id) of a new device.")
    device = serializers.CharField(required=False, help_text="An existing device (d-- slug) instead of a new one.")
    source_name = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    source_ids = serializers.DictField(required=False, default=dict)
    properties = serializers.DictField(required=False, default=dict)
    location = LocationSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("project")) == bool(attrs.get("device")):
            raise serializers.ValidationError({"project": ["Give project (a new device) or device, not both."]})
        return attrs


class PhysicalDeviceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    source_name = serializers.CharField(max_length=40, required=False, allow_blank=True)
    source_ids = serializers.DictField(required=False)
    properties = serializers.DictField(required=False)
    location = LocationSerializer(required=False)
    last_seen = serializers.DateTimeField(required=False)


class LogicalDeviceSerializer(serializers.ModelSerializer):
    uid = serializers.IntegerField(source="id", read_only=True)
    org = serializers.CharField(source="org.slug", read_only=True)
    project = serializers.CharField(source="project.slug", read_only=True)
    location = serializers.SerializerMethodField()
    series = serializers.SerializerMethodField()
    mapping = serializers.SerializerMethodField()

    class Meta:
        model = LogicalDevice
        fields = ["uid", "name", "location", "properties", "last_seen", "org", "project", "series", "mapping"]
        read_only_fields = fields

    @extend_schema_field(LocationSerializer(allow_null=True))
    def get_location(self, obj: LogicalDevice) -> dict[str, float] | None:
        return _location(obj.lat, obj.lon)

    @extend_schema_field(
        serializers.ListField(child=serializers.DictField(child=serializers.CharField()), help_text="{name, alias}")
    )
    def get_series(self, obj: LogicalDevice) -> list[dict[str, str]]:
        return [{"name": item.name, "alias": item.alias.slug} for item in obj.series.all()]

    @extend_schema_field(CurrentMappingSerializer(allow_null=True))
    def get_mapping(self, obj: LogicalDevice) -> dict[str, Any] | None:
        current = getattr(obj, "current_mappings", None)
        return CurrentMappingSerializer(current[0]).data if current else None


class LogicalDeviceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    project = serializers.CharField(help_text="The project (p-- slug or id).")
    location = LocationSerializer(required=False)
    properties = serializers.DictField(required=False, default=dict)


class LogicalDeviceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    location = LocationSerializer(required=False)
    properties = serializers.DictField(required=False)


class LogicalFromPhysicalSerializer(serializers.Serializer):
    pd = serializers.IntegerField(min_value=1)
    map = serializers.BooleanField(required=False, default=False)


class MappingSerializer(serializers.ModelSerializer):
    pd = serializers.IntegerField(source="physical_device_id", read_only=True)
    ld = serializers.IntegerField(source="logical_device_id", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = DeviceMapping
        fields = ["id", "pd", "ld", "start", "end", "is_active", "history", "created_on", "created_by"]
        read_only_fields = fields


class MappingStartSerializer(serializers.Serializer):
    pd = serializers.IntegerField(min_value=1)
    ld = serializers.IntegerField(min_value=1)
    start = serializers.DateTimeField(required=False)


class MappingDeviceSerializer(serializers.Serializer):
    pd = serializers.IntegerField(min_value=1, required=False)
    ld = serializers.IntegerField(min_value=1, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("pd" in attrs) == ("ld" in attrs):
            raise serializers.ValidationError({"pd": ["Give pd or ld, not both."]})
        return attrs


class MappingEndSerializer(MappingDeviceSerializer):
    end = serializers.DateTimeField(required=False)


class MappingToggleSerializer(MappingDeviceSerializer):
    is_active = serializers.BooleanField()


class TtnIntegrationSerializer(serializers.ModelSerializer):
    org = serializers.CharField(source="org.slug", read_only=True)
    project = serializers.CharField(source="project.slug", read_only=True)

    class Meta:
        model = TtnIntegration
        fields = ["id", "name", "org", "project", "secret", "created_on"]
        read_only_fields = fields


class TtnIntegrationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    project = serializers.CharField(help_text="The project (p-- slug or id) its devices join.")


class TelemetryAnswerSerializer(serializers.Serializer):
    correlation_id = serializers.UUIDField()
    status = serializers.CharField()
    stored = serializers.IntegerField()
    duplicate = serializers.BooleanField()
