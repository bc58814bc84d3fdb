"""Stream data on the wire (iotile_clients.md §7 rows 19-20).

Lists run to thousands of rows, so rows are shaped by hand rather than field by field. The context's ``streams``
maps series ids to their ``StreamId``: a row shows its stream's slugs and its value in the stream's output unit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rest_framework import serializers

from server.apps.core.slugs import SlugError, parse_stream_slug
from server.apps.streamdata.models import StreamData, StreamDataStatus, StreamDataType

BIGINT_MIN, BIGINT_MAX = -(1 << 63), (1 << 63) - 1


def iso_utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


class StreamDataSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    stream = serializers.CharField(read_only=True)
    project = serializers.CharField(read_only=True)
    device = serializers.CharField(read_only=True)
    variable = serializers.CharField(read_only=True)
    timestamp = serializers.DateTimeField(read_only=True)
    device_timestamp = serializers.IntegerField(read_only=True, allow_null=True)
    streamer_local_id = serializers.IntegerField(read_only=True)
    dirty_ts = serializers.BooleanField(read_only=True)
    status = serializers.ChoiceField(choices=StreamDataStatus.choices, read_only=True)
    type = serializers.ChoiceField(choices=StreamDataType.choices, read_only=True)
    int_value = serializers.IntegerField(read_only=True, allow_null=True)
    value = serializers.FloatField(read_only=True, allow_null=True)
    output_value = serializers.FloatField(read_only=True, allow_null=True, help_text="value in the output unit")
    display_value = serializers.CharField(read_only=True, allow_null=True, help_text="output_value, rounded")

    def to_representation(self, row: StreamData) -> dict:
        stream = self.context["streams"][row.series]
        parts = parse_stream_slug(stream.slug)
        output_value = stream.output_value(row.value)
        display_value = None
        if output_value is not None:
            places = stream.output_unit.decimal_places if stream.output_unit_id else 2
            display_value = f"{output_value:.{places}f}"
        return {
            "id": row.id,
            "stream": parts.slug,
            "project": parts.project_slug,
            "device": parts.device_slug,
            "variable": parts.variable_slug,
            "timestamp": iso_utc(row.timestamp),
            "device_timestamp": row.device_timestamp,
            "streamer_local_id": row.streamer_local_id,
            "dirty_ts": row.dirty_ts,
            "status": row.status,
            "type": row.type,
            "int_value": row.int_value,
            "value": row.value,
            "output_value": output_value,
            "display_value": display_value,
        }


class StreamDataPointSerializer(serializers.Serializer):
    """One posted reading: ``value``, or a raw ``int_value`` that the stream converts (type ITR)."""

    stream = serializers.CharField(help_text="The stream's s-- slug.")
    timestamp = serializers.DateTimeField(help_text="ISO 8601; UTC when it has no offset.")
    value = serializers.FloatField(required=False, allow_null=True)
    int_value = serializers.IntegerField(required=False, allow_null=True, min_value=BIGINT_MIN, max_value=BIGINT_MAX)
    type = serializers.ChoiceField(choices=StreamDataType.choices, required=False)
    streamer_local_id = serializers.IntegerField(required=False, min_value=0, max_value=BIGINT_MAX)
    device_timestamp = serializers.IntegerField(
        required=False, allow_null=True, min_value=BIGINT_MIN, max_value=BIGINT_MAX
    )

    def validate_stream(self, value: str) -> str:
        try:
            return parse_stream_slug(value).slug
        except SlugError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs: dict) -> dict:
        if attrs.get("value") is None and attrs.get("int_value") is None:
            raise serializers.ValidationError({"value": ["Give value or int_value."]})
        return attrs


class StreamDataCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
