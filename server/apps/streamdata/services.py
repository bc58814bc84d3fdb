"""Writes on stream data (the ``streamdata`` database).

Rows carry their stream's series id (``StreamId.series``, an integer from the default database), never a key across
the databases. A reading with a streamer id (``streamer_local_id > 0``) is stored once: inserting it again is a
no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, router, transaction

from server.apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from server.apps.project.models import Project
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import ROLLUP_RESOLUTIONS, StreamData, StreamDataRollup, StreamDataType
from server.apps.streamdata.partitions import (
    Partition,
    RetentionResult,
    partitions_disk_bytes,
    partitions_ensure,
    partitions_retention_apply,
)

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
# Their types, for the VALUES list the API's insert reads from.
INSERT_TYPES = (
    "integer",
    "bigint",
    "timestamptz",
    "bigint",
    "bigint",
    "double precision",
    "varchar",
    "varchar",
    "boolean",
)
INSERT_BATCH_SIZE = 1000
# The write claims (``stream_data_claims_sql``): one int8range per series, ``series · span + streamer id``.
WRITE_CLAIM_TABLE = "streamdata_writeclaim"
CLAIM_SERIES_SPAN = 1 << 32
DELETE_BATCH_SIZE = 500


def rollup_upsert_sql(source: str) -> str:
    """An ``INSERT … ON CONFLICT DO UPDATE`` that adds the rows of ``source`` (a relation or a CTE with ``series``,
    ``timestamp`` and ``value``: rows just inserted, never rows stored before) to the roll-ups at every resolution.

    The rows are read once and summed per series and UTC minute (``date_trunc``: integer arithmetic on the stored
    time, exact); every resolution's buckets are then summed from those minutes, a few per hundred rows. Every
    resolution is a whole number of minutes, so a minute lies in one bucket of each. (Computing each row's bucket at
    each resolution from ``extract(epoch …)``, a ``numeric``, took most of an ingest write's roll-up time.) Its rows
    go in key order, so two transactions adding to the same buckets lock them in the same order."""
    table = StreamDataRollup._meta.db_table
    resolutions = ", ".join(str(resolution) for resolution in ROLLUP_RESOLUTIONS)
    return (
        f"INSERT INTO {table} AS old (series, resolution, bucket, count, sum, min, max) "
        "SELECT minutes.series, res.r, floor(extract(epoch FROM minutes.minute) / res.r)::bigint, "
        "sum(minutes.count), sum(minutes.sum), min(minutes.min), max(minutes.max) "
        "FROM (SELECT new.series, date_trunc('minute', new.timestamp AT TIME ZONE 'UTC') AS minute, "
        "count(new.value) AS count, sum(new.value) AS sum, min(new.value) AS min, max(new.value) AS max "
        f"FROM {source} AS new WHERE new.timestamp IS NOT NULL GROUP BY 1, 2) AS minutes "
        f"CROSS JOIN unnest(ARRAY[{resolutions}]) AS res (r) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
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


def stream_data_claims_sql(
    *, claims: Iterable[tuple[int, int, int]], row_ids: Iterable[int] = (), table: str = WRITE_CLAIM_TABLE
) -> tuple[str, list[Any]]:
    """The statements that claim ``(series, lowest, highest)`` streamer-id ranges for the current transaction (an
    empty string for no claims). A write of readings with ids claims the range it writes in each series before it
    looks for stored readings; a concurrent write of an overlapping range waits at its claim until this
    transaction ends, so its look sees what this one stored. The table is partitioned by time and its unique index
    holds the timestamp, so this is what keeps a reading re-sent with another time (another report's time base)
    from being stored twice (docs/databases.md).

    ``row_ids`` claims rows' own ids the same way (as negative ranges, apart from every series' range), for a write
    of rows that carry their ids: a second write of the same rows waits, then finds them stored.

    The claim rows are deleted in the same breath: a row inserted and deleted by a transaction still in progress
    holds off an overlapping claim until it ends, and nothing is left behind at the commit. Claims go in series
    order, so two writes cannot deadlock on them. ``table`` is the claims table of the database written to (the
    events have theirs, ``streamevent_writeclaim``, on the default database)."""
    ranked = sorted(claims)
    runs = _runs(sorted(set(row_ids)))
    if not ranked and not runs:
        return "", []
    sql, params = "", []
    if ranked:
        series, lowest, highest = zip(*ranked, strict=True)
        sql += (
            f"INSERT INTO {table} (ids) SELECT int8range(claim.series * {CLAIM_SERIES_SPAN} "
            f"+ least(claim.lowest, {CLAIM_SERIES_SPAN - 1}), claim.series * {CLAIM_SERIES_SPAN} "
            f"+ least(claim.highest, {CLAIM_SERIES_SPAN - 1}), '[]') "
            "FROM unnest(%s::integer[], %s::bigint[], %s::bigint[]) AS claim (series, lowest, highest) "
            "ORDER BY claim.series; "
        )
        params += [list(series), list(lowest), list(highest)]
    if runs:
        lows, highs = zip(*runs, strict=True)
        sql += (
            f"INSERT INTO {table} (ids) SELECT int8range(-claim.highest, -claim.lowest, '[]') "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS claim (lowest, highest) ORDER BY claim.lowest; "
        )
        params += [list(lows), list(highs)]
    sql += f"DELETE FROM {table} WHERE owner = pg_current_xact_id(); "
    return sql, params


def _runs(ordered: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted numbers as (first, last) runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for number in ordered:
        if runs and runs[-1][1] == number - 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def not_stored_sql(source: str, table: str) -> str:
    """The condition that keeps a row of ``source`` whose reading no stored row of its series has: the lookup on
    ``(series, streamer_local_id)`` across every partition (the unique index's leading columns)."""
    return (
        f"({source}.streamer_local_id = 0 OR NOT EXISTS (SELECT 1 FROM {table} AS stored "
        f"WHERE stored.series = {source}.series AND stored.streamer_local_id = {source}.streamer_local_id "
        "AND stored.streamer_local_id > 0))"
    )


def claimed_ranges(rows: Sequence[Any]) -> list[tuple[int, int, int]]:
    """``(series, lowest, highest)`` streamer ids of the rows (readings or events) with one: what a write claims."""
    ranges: dict[int, tuple[int, int]] = {}
    for row in rows:
        if row.streamer_local_id > 0:
            low, high = ranges.get(row.series, (row.streamer_local_id, row.streamer_local_id))
            ranges[row.series] = (min(low, row.streamer_local_id), max(high, row.streamer_local_id))
    return [(series, *bounds) for series, bounds in ranges.items()]


def first_of_each_reading(rows: Sequence[Any]) -> list[Any]:
    """The rows (readings or events) but the repeats of a ``(series, streamer_local_id)`` met earlier."""
    seen: set[tuple[int, int]] = set()
    kept = []
    for row in rows:
        key = (row.series, row.streamer_local_id)
        if row.streamer_local_id > 0:
            if key in seen:
                continue
            seen.add(key)
        kept.append(row)
    return kept


def stream_data_ids_reserve(*, count: int) -> list[int]:
    """``count`` new row ids from the table's own sequence, for a writer that must name its rows before it writes
    them (telemetry keeps them on the raw message first, docs/telemetry.md). One query."""
    if count <= 0:
        return []
    alias = router.db_for_write(StreamData)
    sequence = f"{StreamData._meta.db_table}_id_seq"
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
        return [row_id for (row_id,) in cursor.fetchall()]


def stream_data_bulk_insert(*, rows: Sequence[StreamData]) -> list[int]:
    """Insert rows in batches, skipping readings already stored (same stream and streamer id, whatever the time).

    Rows may carry their own ids (all or none), reserved with :func:`stream_data_ids_reserve`: a row whose id is
    stored already (with its time) is skipped, so writing the same rows again after a crash stores them once.

    Returns the ids of the rows actually inserted; the same statement adds them, and only them, to the roll-ups.
    Callers wanting all-or-nothing wrap it in ``transaction.atomic(using="streamdata")``.
    """
    if not rows:
        return []
    with_ids = rows[0].id is not None
    if any((row.id is not None) != with_ids for row in rows):
        raise ValueError("Rows carry their own ids all or none.")
    alias = router.db_for_write(StreamData)
    table = connections[alias].ops.quote_name(StreamData._meta.db_table)
    names = (*INSERT_COLUMNS, "id") if with_ids else INSERT_COLUMNS
    kinds = (*INSERT_TYPES, "bigint") if with_ids else INSERT_TYPES
    columns = ", ".join(names)
    row_placeholder = "(" + ", ".join(f"%s::{kind}" for kind in kinds) + ")"
    condition = not_stored_sql("incoming", table)
    if with_ids:
        # The time lets the look go to the one partition that may hold the row.
        condition += (
            f" AND NOT EXISTS (SELECT 1 FROM {table} AS kept "
            "WHERE kept.id = incoming.id AND kept.timestamp = incoming.timestamp)"
        )
    inserted: list[int] = []
    # One batch outside any transaction is one query string, which PostgreSQL runs as one transaction of its own (the
    # claims, the rows and their roll-ups commit together): no BEGIN and COMMIT round trips for a small write.
    on_its_own = len(rows) <= INSERT_BATCH_SIZE and connections[alias].get_autocommit()
    with nullcontext() if on_its_own else transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH_SIZE):
            batch = first_of_each_reading(rows[start : start + INSERT_BATCH_SIZE])
            claims, params = stream_data_claims_sql(
                claims=claimed_ranges(batch), row_ids=[row.id for row in batch] if with_ids else ()
            )
            for row in batch:
                params.extend(getattr(row, column) for column in names)
            cursor.execute(
                f"{claims}WITH incoming ({columns}) AS (VALUES {', '.join([row_placeholder] * len(batch))}), "
                f"inserted AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming "
                f"WHERE {condition} "
                # The partial unique index streamdata_unique_series_reading.
                "ON CONFLICT (series, streamer_local_id, timestamp) WHERE streamer_local_id > 0 DO NOTHING "
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


def retention_cutoff(*, now: datetime, days: int) -> datetime:
    """The instant before which a project keeping ``days`` days removes its data: ``now - days``, back to the
    start of its UTC day, so a roll-up bucket (a minute, an hour, a day) is always wholly before or after it."""
    moment = (now - timedelta(days=days)).astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def retention_cutoffs(*, now: datetime, days_field: str, project: Project | None = None) -> dict[int, datetime]:
    """series → its cutoff, for the series of every project that limits ``days_field`` (``data_retention_days``,
    ``event_retention_days``), or of ``project`` alone. A series no stream holds, or whose stream belongs to no
    such project, is kept."""
    limited = StreamId.objects.filter(**{f"project__{days_field}__isnull": False})
    if project is not None:
        limited = limited.filter(project=project)
    return {
        series: retention_cutoff(now=now, days=days)
        for series, days in limited.values_list("series", f"project__{days_field}")
        if days is not None
    }


def _rollups_delete_before(
    cursor, cutoffs: dict[int, datetime], lower: datetime | None, upper: datetime | None
) -> None:
    """Delete the roll-up buckets of these series that start in ``[lower, upper)`` and before their cutoff."""
    series = sorted(cutoffs)
    cursor.execute(
        f"DELETE FROM {StreamDataRollup._meta.db_table} AS rollup "
        "USING unnest(%s::integer[], %s::timestamptz[]) AS expired (series, cutoff) "
        "WHERE rollup.series = expired.series "
        "AND to_timestamp(rollup.bucket::double precision * rollup.resolution) < expired.cutoff "
        "AND to_timestamp(rollup.bucket::double precision * rollup.resolution) "
        "BETWEEN coalesce(%s::timestamptz, '-infinity') AND coalesce(%s::timestamptz, 'infinity') - interval '1 us'",
        [series, [cutoffs[each] for each in series], lower, upper],
    )


def stream_data_retention_apply(*, now: datetime, project: Project | None = None) -> RetentionResult:
    """Remove the rows (and roll-ups) older than their project's data retention (docs/retention.md), of every
    project or of ``project`` alone: whole monthly partitions dropped, expired rows deleted in the others
    (``partitions_retention_apply``), each partition's roll-up buckets in its transaction, so rows and roll-ups
    agree at every commit."""
    cutoffs = retention_cutoffs(now=now, days_field="data_retention_days", project=project)

    def removing(cursor, partition: Partition, condition: str, params: list[Any]) -> None:
        _rollups_delete_before(cursor, cutoffs, partition.lower, partition.upper)

    return partitions_retention_apply(
        alias=router.db_for_write(StreamData), table=StreamData._meta.db_table, cutoffs=cutoffs, removing=removing
    )


def stream_data_disk_bytes() -> int:
    """What the readings' partitions hold on disk (docs/retention.md)."""
    return partitions_disk_bytes(alias=router.db_for_write(StreamData), table=StreamData._meta.db_table)


def stream_data_partitions_ensure(*, now: datetime) -> list[str]:
    """The monthly partitions of this month and the next ones, and of the months with rows in the DEFAULT
    partition; one transaction. Returns the names created."""
    alias = router.db_for_write(StreamData)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        return partitions_ensure(cursor, StreamData._meta.db_table, now=now)
