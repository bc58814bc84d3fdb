"""Events on the wire (iotile_clients.md §7 rows 22-23)."""

from __future__ import annotations

import json

from rest_framework import serializers

from server.apps.core.slugs import StreamParts, parse_stream_slug
from server.apps.streamevent.models import StreamEventData


class EventSerializer(serializers.ModelSerializer):
    """An event with its stream's slugs, from the ``stream_slug`` that ``event_list`` reads with it."""

    stream = serializers.SerializerMethodField()
    project = serializers.SerializerMethodField()
    device = serializers.SerializerMethodField()
    variable = serializers.SerializerMethodField()
    has_raw_data = serializers.BooleanField(read_only=True, help_text="Whether event/<id>/data/ has a payload.")

    class Meta:
        model = StreamEventData
        fields = [
            "id",
            "uuid",
            "stream",
            "project",
            "device",
            "variable",
            "timestamp",
            "device_timestamp",
            "streamer_local_id",
            "status",
            "dirty_ts",
            "extra_data",
            "has_raw_data",
            "format_version",
        ]
        read_only_fields = fields

    def get_stream(self, event: StreamEventData) -> str:
        return _parts(event).slug

    def get_project(self, event: StreamEventData) -> str:
        return _parts(event).project_slug

    def get_device(self, event: StreamEventData) -> str:
        return _parts(event).device_slug

    def get_variable(self, event: StreamEventData) -> str:
        return _parts(event).variable_slug


def _parts(event: StreamEventData) -> StreamParts:
    return parse_stream_slug(event.stream_slug)  # type: ignore[attr-defined]


class EventUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The event's data: .json, .json.gz or .csv.")
    stream = serializers.CharField(help_text="The stream's s-- slug.")
    timestamp = serializers.DateTimeField(help_text="ISO 8601; UTC when it has no offset.")
    encoded_extra_data = serializers.CharField(
        required=False, allow_blank=True, help_text="The event's summary: a JSON object, as text."
    )
    device_timestamp = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    streamer_local_id = serializers.IntegerField(required=False, min_value=0, max_value=(1 << 63) - 1)

    def validate_encoded_extra_data(self, value: str) -> dict:
        if not value.strip():
            return {}
        try:
            decoded = json.loads(value)
        except ValueError as exc:
            raise serializers.ValidationError(f"Not valid JSON: {exc}.") from exc
        if not isinstance(decoded, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return decoded
