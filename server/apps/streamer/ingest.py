"""From a prepared report to rows: which stream each reading belongs to, and its stored value.

- A reading of variable id ``lid`` from device ``d`` in project ``p`` belongs to stream ``s--<p>--<d>--<lid>``.
  Streams the project lacks are created as they appear when the project allows it (``auto_create_streams``);
  otherwise their readings are skipped. Readings of disabled streams are skipped too.
- ``int_value`` is the raw 32-bit value as the device sent it. ``value`` is in the variable type's storage units,
  converted by the stream's :func:`~server.apps.stream.values.raw_value_converter` (format, MDO, input unit), one
  function per stream for the whole report. ``type`` is ``ITR`` (integer to real) when an input unit converted it,
  else ``Num``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.apps.core.slugs import StreamParts
from server.apps.stream.models import StreamId
from server.apps.stream.services import device_streams_ensure
from server.apps.stream.values import raw_value_converter
from server.apps.streamdata.models import StreamDataType
from server.apps.streamer.copy_rows import CopyRows, StreamColumns
from server.apps.streamer.reports import PreparedReport
from server.apps.streamevent.models import StreamEventData
from server.apps.streamevent.services import event_data_key

# Event payloads get a uuid derived from the report and their place in it, so a retry writes the same object.
EVENT_UUID_NAMESPACE = uuid.UUID("6f1b4c0e-2f0a-4b8e-9d51-5a7e0c1d2b3a")


def stream_slug_for(*, project_gid: int, device_id: int, lid: int) -> str:
    return StreamParts(project_gid, device_id, lid).slug


def streams_for_report(*, device, lids: set[int]) -> dict[int, StreamId]:
    """The device's streams for these variable ids, created first where missing and allowed. One query, or five
    when streams are created."""
    project = device.project
    slugs = {stream_slug_for(project_gid=project.gid, device_id=device.id, lid=lid): lid for lid in lids}

    def load() -> dict[int, StreamId]:
        found = StreamId.objects.filter(slug__in=list(slugs)).select_related("variable", "input_unit")
        return {slugs[stream.slug]: stream for stream in found}

    streams = load() if slugs else {}
    missing = lids - streams.keys()
    if missing and project.auto_create_streams:
        device_streams_ensure(device=device, lids=missing)
        streams = load()
    return streams


def stream_columns(*, stream: StreamId) -> StreamColumns:
    data_type = StreamDataType.INTEGER_TO_REAL if stream.input_unit_id else StreamDataType.NUMERIC
    return StreamColumns(stream.series, str(data_type))


@dataclass
class ReportRows:
    """What the worker writes for one report."""

    readings: CopyRows
    events: list[StreamEventData] = field(default_factory=list)
    # Payloads of the events, by their key in the events store.
    event_payloads: dict[str, bytes] = field(default_factory=dict)
    skipped_readings: int = 0
    skipped_events: int = 0


def report_rows(*, report_id, prepared: PreparedReport, device, streams: dict[int, StreamId]) -> ReportRows:
    """Turn the prepared readings and events into rows of the streams in ``streams`` (by variable id)."""
    readings = prepared.readings
    usable = {lid: stream for lid, stream in streams.items() if stream.enabled}
    present = set(readings.streams)
    skipped = 0
    if not present <= usable.keys():
        keep = [i for i, lid in enumerate(readings.streams) if lid in usable]
        skipped = len(readings) - len(keep)
        readings = readings.take(keep)

    converters = {lid: raw_value_converter(usable[lid]) for lid in present if lid in usable}
    values: Sequence[float]
    if any(converters.values()):
        by_stream = {lid: converter or float for lid, converter in converters.items()}
        values = [
            convert(raw)
            for convert, raw in zip(map(by_stream.__getitem__, readings.streams), readings.int_values, strict=True)
        ]
    else:
        values = readings.int_values  # struct packs these ints as doubles

    rows = CopyRows(
        readings=readings,
        values=values,
        stream_columns={lid: stream_columns(stream=usable[lid]) for lid in converters},
    )
    result = ReportRows(rows, skipped_readings=skipped + prepared.removed_reboots)
    _add_events(result, report_id=report_id, prepared=prepared, device=device, streams=usable)
    return result


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    return str(value)


def _add_events(result: ReportRows, *, report_id, prepared: PreparedReport, device, streams) -> None:
    for position, event in enumerate(prepared.events):
        stream = streams.get(event.stream)
        if stream is None:
            result.skipped_events += 1
            continue
        row = StreamEventData(
            uuid=uuid.uuid5(EVENT_UUID_NAMESPACE, f"{report_id}:{position}"),
            series=stream.series,
            org_id=device.org_id,
            device_timestamp=event.device_timestamp,
            timestamp=event.timestamp,
            streamer_local_id=event.reading_id,
            status=event.status,
            dirty_ts=event.dirty_ts,
            extra_data=event.extra_data,
        )
        if event.data is not None:
            row.data_key = event_data_key(
                stream_slug=stream.slug, timestamp=row.timestamp, event_uuid=row.uuid, ext=".json"
            )
            result.event_payloads[row.data_key] = json.dumps(event.data, default=_json_default).encode()
        result.events.append(row)
