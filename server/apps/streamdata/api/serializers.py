"""Stream data on the wire (iotile_clients.md §7 rows 19-20).

Lists run to thousands of rows, so rows come straight from the database cursor as tuples (``ROW_COLUMNS``) and are
shaped into dicts by :func:`stream_data_rows`, with everything that depends only on the stream (its slugs, its output
conversion, its decimal places) worked out once per stream: no model instance and no serializer per row. A row shows
its stream's slugs and its value in the stream's output unit; ``streams`` maps series ids to their ``StreamId``.
Timestamps stay datetimes until the renderer writes them (ISO 8601 in UTC, ending in ``Z``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

from server.apps.core.slugs import SlugError, parse_stream_slug
from server.apps.stream.models import StreamId
from server.apps.stream.values import output_factors
from server.apps.streamdata.models import StreamData, StreamDataStatus, StreamDataType

BIGINT_MIN, BIGINT_MAX = -(1 << 63), (1 << 63) - 1
# The columns a row is read with, in this order.
ROW_COLUMNS = (
    "id",
    "series",
    "timestamp",
    "device_timestamp",
    "streamer_local_id",
    "dirty_ts",
    "status",
    "type",
    "int_value",
    "value",
)


def iso_utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def _output(stream: StreamId) -> Callable[[float], float] | None:
    """The stream's stored → output value function, None when values are shown as stored."""
    if not stream.output_unit_id:
        return None
    m, d, o = output_factors(stream)
    return lambda value: value * m / d + o


def stream_data_rows(rows: Iterable[tuple[Any, ...]], streams: dict[int, StreamId]) -> list[dict[str, Any]]:
    """Rows read as ``ROW_COLUMNS`` tuples, shaped for the wire."""
    shapes = {}
    for series, stream in streams.items():
        parts = parse_stream_slug(stream.slug)
        places = stream.output_unit.decimal_places if stream.output_unit is not None else 2
        shapes[series] = (
            parts.slug,
            parts.project_slug,
            parts.device_slug,
            parts.variable_slug,
            _output(stream),
            f"%.{places}f",
        )
    shaped: list[dict[str, Any]] = []
    append = shaped.append
    for row_id, series, timestamp, device_timestamp, streamer_id, dirty, status, data_type, int_value, value in rows:
        slug, project, device, variable, convert, display = shapes[series]
        output = value if convert is None or value is None else convert(value)
        append(
            {
                "id": row_id,
                "stream": slug,
                "project": project,
                "device": device,
                "variable": variable,
                "timestamp": timestamp,
                "device_timestamp": device_timestamp,
                "streamer_local_id": streamer_id,
                "dirty_ts": dirty,
                "status": status,
                "type": data_type,
                "int_value": int_value,
                "value": value,
                "output_value": output,
                "display_value": None if output is None else display % output,
            }
        )
    return shaped


class StreamDataSerializer(serializers.Serializer):
    """One row, as :func:`stream_data_rows` shapes it (the answer to a posted reading, and the schema's row)."""

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

    def to_representation(self, row: StreamData) -> dict[str, Any]:
        columns = tuple(getattr(row, column) for column in ROW_COLUMNS)
        return stream_data_rows([columns], self.context["streams"])[0]


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
