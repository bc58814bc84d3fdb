"""Streamers and streamer reports on the wire (iotile_clients.md §7 rows 13-15)."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.streamer.models import Streamer, StreamerReport


class StreamerSerializer(serializers.ModelSerializer):
    device = serializers.CharField(source="device.slug", read_only=True, help_text="The device's d-- slug.")
    last_id = serializers.IntegerField(read_only=True, help_text="The highest reading id stored from this streamer.")

    class Meta:
        model = Streamer
        fields = [
            "id",
            "slug",
            "device",
            "index",
            "last_id",
            "selector",
            "is_system",
            "last_reboot_ts",
            "process_engine_ver",
            "created_on",
        ]
        read_only_fields = fields


class StreamerReportSerializer(serializers.ModelSerializer):
    streamer = serializers.CharField(source="streamer.slug", read_only=True)
    device = serializers.CharField(source="streamer.device.slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = StreamerReport
        fields = [
            "id",
            "streamer",
            "device",
            "status",
            "error",
            "original_first_id",
            "original_last_id",
            "actual_first_id",
            "actual_last_id",
            "sent_timestamp",
            "device_sent_timestamp",
            "incremental_id",
            "reading_count",
            "upload_count",
            "new_reading_count",
            "duplicate_reading_count",
            "skipped_reading_count",
            "event_count",
            "file_name",
            "file_size",
            "created_on",
            "created_by",
            "processed_on",
        ]
        read_only_fields = fields


class StreamerReportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The report: .bin (SignedListReport), .mp (msgpack) or .json.")


class StreamerReportUploadResultSerializer(StreamerReportSerializer):
    count = serializers.IntegerField(
        source="upload_count",
        read_only=True,
        help_text="Readings and events of the report that are new to the streamer: their id is above its last_id "
        "when the upload arrives, or they have none. A keyed report whose key the platform lacks counts 0.",
    )

    class Meta(StreamerReportSerializer.Meta):
        fields = ["count", *StreamerReportSerializer.Meta.fields]
        read_only_fields = fields
