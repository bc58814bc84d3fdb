"""Stream data on the wire (iotile_clients.md §7 rows 19-20).

A row shows its stream's slugs and its value in the stream's output unit; ``streams`` maps series ids to their
``StreamId``, and everything that depends only on the stream (its slugs, its output conversion, its decimal places)
is worked out once per stream. One row (the answer to a posted reading) is read as ``ROW_COLUMNS`` and shaped into a
dict by :func:`stream_data_rows`; timestamps stay datetimes until the renderer writes them (ISO 8601 in UTC, ending in
``Z``).

Lists run to thousands of rows, and are written as JSON text without a dict, a datetime or a float object per row
(:func:`stream_data_json`): PostgreSQL writes each row's id and its columns from ``timestamp`` to ``int_value`` as
JSON (``WIRE_SQL``, read as ``WIRE_COLUMNS``), orjson writes the page's values and output values in one call each,
and Python lays in each stream's slugs and joins the pieces. The bytes are those orjson gives for the dicts of
:func:`stream_data_rows` (tests/test_wire.py compares them on mixed data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from itertools import repeat
from operator import itemgetter
from typing import Any

import orjson
from django.db import models
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
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

# Each row's JSON from "timestamp" to "int_value", written by PostgreSQL as orjson writes these values: the time in
# UTC ending in Z with microseconds only when there are some (from the ISO text of PostgreSQL's default DateStyle:
# cheaper than to_char), integers in full, null for a missing value. The time's text is read once for a whole second
# (timestamptz(0) rounds to the second, so it equals the time exactly then), and padded to six digits of microseconds
# otherwise; a status or a type is the JSON text of one of the model's choices, to_json only for any other value. Each
# of these halved what it replaced. The stream's slugs, the same on every row of a stream, are laid in by Python
# (stream_data_json): carried through this chain of concatenations on every row they cost PostgreSQL about a third
# of the statement. Every constant key but streamer_local_id's rides in the branches of the CASE beside it (a time
# ends with the key after it, a status with ',"type":'), so that a row takes 7 concatenations, not 13: about 4 % off
# the statement.
_UTC_TEXT = """("timestamp" AT TIME ZONE 'UTC')::text"""
_TIME_AND_KEYS = (
    f"""CASE WHEN "timestamp"::timestamptz(0) = "timestamp" """
    f"""THEN ',"timestamp":"' || replace({_UTC_TEXT}, ' ', 'T') || 'Z","device_timestamp":' """
    """WHEN "timestamp" IS NULL THEN ',"timestamp":null,"device_timestamp":' """
    f"""ELSE ',"timestamp":"' || replace(rpad({_UTC_TEXT}, 26, '0'), ' ', 'T') || 'Z","device_timestamp":' END"""
)


def _choice_json(column: str, choices: type[models.TextChoices], then: str) -> str:
    """The column's value as JSON, followed by ``then`` (constant text of ours: no quote or percent sign). The
    choices are the model's own (letters and a dash): nothing to quote in SQL or escape in JSON."""
    known = " ".join(f"WHEN '{value}' THEN '{orjson.dumps(value).decode()}{then}'" for value in choices.values)
    return f"""CASE "{column}" {known} ELSE to_json("{column}")::text || '{then}' END"""


ROW_JSON_SQL = (
    f"""{_TIME_AND_KEYS} || coalesce("device_timestamp"::text, 'null')"""
    """ || ',"streamer_local_id":' || "streamer_local_id"::text"""
    """ || CASE WHEN "dirty_ts" THEN ',"dirty_ts":true,"status":' ELSE ',"dirty_ts":false,"status":' END"""
    f""" || {_choice_json("status", StreamDataStatus, ',"type":')}"""
    f""" || {_choice_json("type", StreamDataType, ',"int_value":')}"""
    """ || coalesce("int_value"::text, 'null')"""
)
# The columns PostgreSQL writes for stream_data_json, by name, as SQL and its parameters: the id's text and
# ROW_JSON_SQL.
WIRE_SQL: dict[str, tuple[str, tuple[()]]] = {"json_id": ('"id"::text', ()), "json_tail": (ROW_JSON_SQL, ())}
# The columns a page of rows is read with for stream_data_json, in this order.
WIRE_COLUMNS = ("series", "json_id", "json_tail", "value")


def _slugs_json(slug: str | None, project: str | None, device: str | None, variable: str | None) -> str:
    """A stream's slugs as a row shows them: ``,"stream":…,"project":…,"device":…,"variable":…`` (from its id on)."""
    named = (("stream", slug), ("project", project), ("device", device), ("variable", variable))
    return "".join(f',"{key}":{orjson.dumps(value).decode()}' for key, value in named)


def with_wire_json(queryset: QuerySet[StreamData]) -> QuerySet[StreamData]:
    """``queryset`` with each row's ``WIRE_SQL`` columns, to be read as ``WIRE_COLUMNS``."""
    return queryset.annotate(**{name: RawSQL(*sql) for name, sql in WIRE_SQL.items()})


def iso_utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def _output(stream: StreamId) -> Callable[[float], float] | None:
    """The stream's stored → output value function, None when values are shown as stored."""
    if not stream.output_unit_id:
        return None
    m, d, o = output_factors(stream)
    return lambda value: value * m / d + o


def _shape(stream: StreamId) -> tuple[str | None, str | None, str | None, str | None, Any, str]:
    """What a row's shape takes from its stream: its four slugs, its output conversion, its display format."""
    parts = parse_stream_slug(stream.slug)
    places = stream.output_unit.decimal_places if stream.output_unit is not None else 2
    return parts.slug, parts.project_slug, parts.device_slug, parts.variable_slug, _output(stream), f"%.{places}f"


def stream_data_rows(rows: Iterable[tuple[Any, ...]], streams: dict[int, StreamId]) -> list[dict[str, Any]]:
    """Rows read as ``ROW_COLUMNS`` tuples, shaped for the wire."""
    shapes = {series: _shape(stream) for series, stream in streams.items()}
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


def _json_texts(values: list[Any]) -> list[str]:
    """Each value as orjson writes it, from one call for them all (floats and null hold no comma)."""
    return orjson.dumps(values).decode()[1:-1].split(",")


def stream_data_json(rows: list[tuple[Any, ...]], streams: dict[int, StreamId]) -> orjson.Fragment:
    """Rows read as ``WIRE_COLUMNS`` tuples, as the JSON list the dicts of :func:`stream_data_rows` render to."""
    if not rows:
        return orjson.Fragment(b"[]")
    whole = {series: _shape(stream) for series, stream in streams.items()}
    shapes = {series: shape[4:] for series, shape in whole.items()}
    values = list(map(itemgetter(3), rows))
    outputs = values
    if any(convert is not None for convert, _ in shapes.values()):
        outputs = [
            value if value is None or (convert := shapes[series][0]) is None else convert(value)
            for series, _, _, value in rows
        ]
    formats = {display for _, display in shapes.values()}
    if len(formats) == 1:
        # "%.Nf" writes digits, a sign and a point, or nan and inf: nothing that JSON escapes.
        display = f'"{formats.pop()}"'
        displays = ["null" if output is None else display % output for output in outputs]
    else:
        displays = [
            "null" if output is None else f'"{shapes[series][1] % output}"'
            for (series, *_), output in zip(rows, outputs, strict=True)
        ]
    value_texts = _json_texts(values)
    output_texts = value_texts if outputs is values else _json_texts(outputs)
    # Each stream's slugs, between the id and the time.
    slugs = {series: _slugs_json(*shape[:4]) for series, shape in whole.items()}
    count = len(rows)
    row_slugs: Iterable[str]
    if len(slugs) == 1:
        row_slugs = repeat(next(iter(slugs.values())), count)
    else:
        row_slugs = map(slugs.__getitem__, map(itemgetter(0), rows))
    # Every row's pieces in one list, laid in by slices and joined once, in C: no Python code runs per row, and no
    # string is made per row (the rows' strings, megabytes for a long page, each cost the process fresh memory). One
    # row's closing brace and the next one's opening share a piece.
    pieces = [""] * (1 + 10 * count)
    pieces[0] = '[{"id":'
    pieces[1::10] = map(itemgetter(1), rows)
    pieces[2::10] = row_slugs
    pieces[3::10] = map(itemgetter(2), rows)
    pieces[4::10] = repeat(',"value":', count)
    pieces[5::10] = value_texts
    pieces[6::10] = repeat(',"output_value":', count)
    pieces[7::10] = output_texts
    pieces[8::10] = repeat(',"display_value":', count)
    pieces[9::10] = displays
    pieces[10::10] = repeat('},{"id":', count)
    pieces[-1] = "}]"
    return orjson.Fragment("".join(pieces).encode())


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
