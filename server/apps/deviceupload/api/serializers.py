"""Device uploads on the wire, and the device's own messages (Kanto's AutoUploadable shapes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from server.apps.deviceupload.models import MAX_EVERY_HOURS, DeviceUpload, UploadSchedule

if TYPE_CHECKING:
    from server.apps.device.models import Device
    from server.apps.fleet.models import Fleet


class DeviceUploadSerializer(serializers.ModelSerializer):
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.CharField(source="operation.status", read_only=True, help_text="The upload's operation.")
    error = serializers.CharField(source="operation.error", read_only=True)

    class Meta:
        model = DeviceUpload
        fields = [
            "id",
            "device",
            "trigger",
            "operation",
            "correlation_id",
            "name",
            "checksum",
            "size",
            "state",
            "progress",
            "message",
            "status",
            "error",
            "created_on",
        ]
        read_only_fields = fields


class UploadFileSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Downloads the file without credentials for an hour.")


class UploadRequestSerializer(serializers.Serializer):
    correlationId = serializers.CharField(max_length=120, help_text="<trigger operation id>#<n>")
    options = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, help_text="file.name, file.checksum, info.*"
    )


class UploadStartSerializer(serializers.Serializer):
    correlationId = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField(), help_text="storage.provider, https.url, …")


class UploadStatusSerializer(serializers.Serializer):
    correlationId = serializers.CharField(max_length=120)
    state = serializers.CharField(max_length=12, help_text="PENDING, UPLOADING, PAUSED, SUCCESS, FAILED, CANCELED")
    progress = serializers.IntegerField(required=False, min_value=0, max_value=100)
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    statusCode = serializers.CharField(required=False, allow_blank=True, max_length=20)
    startTime = serializers.CharField(required=False, allow_blank=True, max_length=40)
    endTime = serializers.CharField(required=False, allow_blank=True, max_length=40)
    info = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)


class UploadStatusOutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["recorded", "progress", "duplicate", "unknown"])
    status = serializers.CharField(allow_null=True)


class UploadScheduleSerializer(serializers.ModelSerializer):
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    fleet: serializers.SlugRelatedField[Fleet] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = UploadSchedule
        fields = [
            "id",
            "device",
            "fleet",
            "every_hours",
            "files",
            "enabled",
            "next_run",
            "last_run",
            "last_count",
            "last_error",
            "created_on",
        ]
        read_only_fields = fields


class UploadScheduleCreateSerializer(serializers.Serializer):
    device = serializers.CharField(max_length=40, required=False, help_text="A device (d--…), or")
    fleet = serializers.CharField(max_length=40, required=False, help_text="a fleet (g--…): each current member.")
    every_hours = serializers.IntegerField(min_value=1, max_value=MAX_EVERY_HOURS)
    files = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="A glob, e.g. *.log")
    enabled = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs):
        if ("device" in attrs) == ("fleet" in attrs):
            raise serializers.ValidationError({"device": ["Name a device or a fleet, not both."]})
        return attrs


class UploadScheduleUpdateSerializer(serializers.Serializer):
    every_hours = serializers.IntegerField(min_value=1, max_value=MAX_EVERY_HOURS, required=False)
    files = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
