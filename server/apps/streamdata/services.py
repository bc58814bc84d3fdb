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
from server.apps.streamdata.models import ROLLUP_RESOLUTIONS, StreamData, StreamDataRollup, StreamDataType

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


def rollup_upsert_sql(source: str) -> str:
    """An ``INSERT … ON CONFLICT DO UPDATE`` that adds the rows of ``source`` (a relation or a CTE with ``series``,
    ``timestamp`` and ``value``: rows just inserted, never rows stored before) to the roll-ups at every resolution.
    Its rows go in key order, so two transactions adding to the same buckets lock them in the same order."""
    table = StreamDataRollup._meta.db_table
    resolutions = ", ".join(str(resolution) for resolution in ROLLUP_RESOLUTIONS)
    return (
        f"INSERT INTO {table} AS old (series, resolution, bucket, count, sum, min, max) "
        "SELECT new.series, res.r, floor(extract(epoch FROM new.timestamp) / res.r)::bigint, count(new.value), "
        "sum(new.value), min(new.value), max(new.value) "
        f"FROM {source} AS new CROSS JOIN unnest(ARRAY[{resolutions}]) AS res (r) "
        "WHERE new.timestamp IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
        "ON CONFLICT (series, resolution, bucket) DO UPDATE SET count = old.count + EXCLUDED.count, "
        "sum = coalesce(old.sum + EXCLUDED.sum, old.sum, EXCLUDED.sum), "
        "min = least(old.min, EXCLUDED.min), max = greatest(old.max, EXCLUDED.max)"
    )


def stream_data_rollups_rebuild(*, series: Iterable[int]) -> None:
    """Recompute the roll-ups of these series from their rows (after rows were written without them: a bulk load,
    a migration). One transaction on the streamdata database."""
    ids = sorted(set(series))
    alias = router.db_for_write(StreamData)
    rows = StreamData._meta.db_table
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute(f"DELETE FROM {StreamDataRollup._meta.db_table} WHERE series = ANY(%s)", [ids])
        source = f"(SELECT series, timestamp, value FROM {rows} WHERE series = ANY(%s))"
        cursor.execute(rollup_upsert_sql(source), [ids])


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

    Returns the ids of the rows actually inserted; the same statement adds them, and only them, to the roll-ups.
    Callers wanting all-or-nothing wrap it in ``transaction.atomic(using="streamdata")``.
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
                f"WITH inserted AS (INSERT INTO {table} ({columns}) "
                f"VALUES {', '.join([row_placeholder] * len(batch))} "
                # The partial unique index streamdata_unique_series_reading.
                "ON CONFLICT (series, streamer_local_id) WHERE streamer_local_id > 0 DO NOTHING "
                f"RETURNING id, series, timestamp, value), rolled_up AS ({rollup_upsert_sql('inserted')}) "
                "SELECT id FROM inserted",
                params,
            )
            inserted.extend(row_id for (row_id,) in cursor.fetchall())
    return inserted


def stream_data_delete(*, series: Iterable[int]) -> int:
    """Delete every row and roll-up of these series; returns how many rows went."""
    ids = sorted(set(series))
    deleted = 0
    for start in range(0, len(ids), DELETE_BATCH_SIZE):
        batch = ids[start : start + DELETE_BATCH_SIZE]
        count, _ = StreamData.objects.filter(series__in=batch).delete()
        StreamDataRollup.objects.filter(series__in=batch).delete()
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
