"""Writes on stream data (the ``streamdata`` database).

Rows carry their stream's series id (``StreamId.series``, an integer from the default database), never a key across
the databases. A reading with a streamer id (``streamer_local_id > 0``) is stored once: inserting it again is a
no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connections, router, transaction

from server.apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData, StreamDataType

INSERT_COLUMNS = (
    "series",
    "device_timestamp",
    "timestamp",
    "streamer_local_id",
    "int_value",
    "value",
    "status",
    "type",
    "dirty_ts",
)
INSERT_BATCH_SIZE = 1000
DELETE_BATCH_SIZE = 500


def stream_data_row(
    *,
    series: int,
    timestamp: datetime | None,
    value: float | None,
    int_value: int | None = None,
    streamer_local_id: int = 0,
    device_timestamp: int | None = None,
    type: str = StreamDataType.NUMERIC,
    **fields: Any,
) -> StreamData:
    """An unsaved row of the stream whose series id is ``series``."""
    return StreamData(
        series=series,
        timestamp=timestamp,
        value=value,
        int_value=int_value,
        streamer_local_id=streamer_local_id or 0,
        device_timestamp=device_timestamp,
        type=type,
        **fields,
    )


def stream_data_bulk_insert(*, rows: Sequence[StreamData]) -> list[int]:
    """Insert rows in batches, skipping readings already stored (same stream and streamer id).

    Returns the ids of the rows actually inserted. Callers wanting all-or-nothing wrap it in
    ``transaction.atomic(using="streamdata")``.
    """
    if not rows:
        return []
    alias = router.db_for_write(StreamData)
    table = connections[alias].ops.quote_name(StreamData._meta.db_table)
    columns = ", ".join(INSERT_COLUMNS)
    row_placeholder = "(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ")"
    inserted: list[int] = []
    with connections[alias].cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH_SIZE):
            batch = rows[start : start + INSERT_BATCH_SIZE]
            params: list[Any] = []
            for row in batch:
                params.extend(getattr(row, column) for column in INSERT_COLUMNS)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_placeholder] * len(batch))} "
                # The partial unique index streamdata_unique_series_reading.
                "ON CONFLICT (series, streamer_local_id) WHERE streamer_local_id > 0 DO NOTHING "
                "RETURNING id",
                params,
            )
            inserted.extend(row_id for (row_id,) in cursor.fetchall())
    return inserted


def stream_data_delete(*, series: Iterable[int]) -> int:
    """Delete every row of these series; returns how many rows went."""
    ids = sorted(set(series))
    deleted = 0
    for start in range(0, len(ids), DELETE_BATCH_SIZE):
        count, _ = StreamData.objects.filter(series__in=ids[start : start + DELETE_BATCH_SIZE]).delete()
        deleted += count
    return deleted


def _streams_for_writing(*, user, stream_slugs: set[str]) -> dict[str, StreamId]:
    visible = {
        stream.slug: stream
        for stream in StreamId.objects.restrict(user, "view")
        .filter(slug__in=stream_slugs)
        .select_related("project", "variable", "input_unit", "output_unit")
    }
    missing = sorted(stream_slugs - visible.keys())
    if missing:
        raise NotFoundError(f"Stream {missing[0]} not found.", {"stream": [f"Unknown stream: {missing[0]}."]})
    allowed = set(
        StreamId.objects.restrict(user, "create_data").filter(slug__in=stream_slugs).values_list("slug", flat=True)
    )
    denied = sorted(stream_slugs - allowed)
    if denied:
        raise PermissionDeniedError(f"You may not add data to stream {denied[0]}.")
    disabled = sorted(slug for slug, stream in visible.items() if not stream.enabled)
    if disabled:
        raise ApplicationError(f"Stream {disabled[0]} is disabled.", {"stream": [f"Disabled stream: {disabled[0]}."]})
    return visible


def stream_data_create(*, user, points: Sequence[dict[str, Any]]) -> tuple[list[StreamData], list[int]]:
    """Store data points posted through the API: all of them or none.

    Each point has ``stream`` (canonical slug), ``timestamp`` and ``value`` or ``int_value`` (a raw value, stored
    with type ITR and converted through the stream's MDO and input unit), plus optional ``streamer_local_id``,
    ``device_timestamp`` and ``type``. Every stream must be visible (404), writable by ``user`` (403) and enabled.
    Returns the rows built and the ids of those actually inserted (a repeated streamer id is skipped).
    """
    streams = _streams_for_writing(user=user, stream_slugs={point["stream"] for point in points})
    rows = []
    for point in points:
        stream = streams[point["stream"]]
        value, int_value = point.get("value"), point.get("int_value")
        data_type = point.get("type") or StreamDataType.NUMERIC
        if value is None:
            assert int_value is not None, "the serializer takes a point with value or int_value"
            value, data_type = stream.raw_to_value(int_value), StreamDataType.INTEGER_TO_REAL
        rows.append(
            stream_data_row(
                series=stream.series,
                timestamp=point["timestamp"],
                value=value,
                int_value=int_value,
                streamer_local_id=point.get("streamer_local_id") or 0,
                device_timestamp=point.get("device_timestamp"),
                type=data_type,
            )
        )
    with transaction.atomic(using=router.db_for_write(StreamData)):
        inserted = stream_data_bulk_insert(rows=rows)
    return rows, inserted
