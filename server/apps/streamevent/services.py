"""Writes on events: an event uploaded with its payload (``event/upload/``); the one insert every event goes
through, a report's (written by the report worker, server/apps/streamer/services/processing.py) and an upload's
(``stream_events_bulk_insert``); the events' monthly partitions and retention (docs/retention.md)."""

from __future__ import annotations

import datetime
import json
import uuid
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.db import connections, router, transaction

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.slugs import SlugError
from server.apps.project.models import Project
from server.apps.stores.services import store_file_delete, store_file_save
from server.apps.stream.selectors import stream_list, stream_lookup
from server.apps.streamdata.partitions import (
    Partition,
    RetentionResult,
    partitions_disk_bytes,
    partitions_ensure,
    partitions_retention_apply,
)
from server.apps.streamdata.services import (
    claimed_ranges,
    first_of_each_reading,
    not_stored_sql,
    retention_cutoffs,
    stream_data_claims_sql,
)
from server.apps.streamevent.models import StreamEventData

EVENT_STORE = "events"
PAYLOAD_EXTENSIONS = (".json.gz", ".json", ".csv")
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
EVENT_INSERT_BATCH_SIZE = 500
# The events' write claims (``streamdata.services.stream_data_claims_sql``), on their own database.
EVENT_CLAIM_TABLE = "streamevent_writeclaim"
EVENT_COLUMNS = (
    ("uuid", "uuid"),
    ("series", "integer"),
    ("org_id", "uuid"),
    ("device_timestamp", "bigint"),
    ("timestamp", "timestamptz"),
    ("streamer_local_id", "bigint"),
    ("status", "varchar"),
    ("dirty_ts", "boolean"),
    ("extra_data", "jsonb"),
    ("data_key", "varchar"),
    ("format_version", "smallint"),
)


def event_data_key(*, stream_slug: str, timestamp: datetime.datetime | None, event_uuid: uuid.UUID, ext: str) -> str:
    """Where an event's payload lives in the events store."""
    hour = f"{timestamp:%Y/%m/%d/%H}" if timestamp is not None else "undated"
    return f"{stream_slug}/{hour}/{event_uuid}{ext}"


def _payload_extension(file_name: str) -> str:
    name = PurePosixPath((file_name or "").replace("\\", "/")).name.lower()
    for ext in PAYLOAD_EXTENSIONS:
        if name.endswith(ext):
            return ext
    raise ApplicationError(
        f"'{file_name}': an event's data is a .json, .json.gz or .csv file.", {"file": ["Unsupported file type."]}
    )


def event_upload(
    *,
    user,
    stream: str,
    timestamp: datetime.datetime,
    extra_data: dict[str, Any],
    file_name: str,
    content: bytes,
    device_timestamp: int | None = None,
    streamer_local_id: int = 0,
) -> StreamEventData:
    """An event of ``stream`` with its payload, saved in the events store first.

    A stream the user cannot see is a 400 that says no more than an unknown one; writing needs
    ``can_create_stream_data`` in the stream's organisation (403). A streamer id already stored on the stream is a
    conflict (400). An events store that cannot take the payload raises StoreUnavailableError (503) before any row
    is written."""
    try:
        target = stream_list(user=user).filter(**stream_lookup(stream)).first()
    except SlugError as exc:
        raise ApplicationError(str(exc), {"stream": [str(exc)]}) from exc
    if target is None:
        raise ApplicationError(f"Unknown stream '{stream}'.", {"stream": [f"Unknown stream: {stream}."]})
    if not user_has_org_permission(user, target.org, permission_for(StreamEventData, "add")):
        raise PermissionDeniedError(f"You may not add events to stream {target.slug}.")
    if not target.enabled:
        raise ApplicationError(f"Stream {target.slug} is disabled.", {"stream": ["Disabled stream."]})
    if len(content) > MAX_PAYLOAD_BYTES:
        raise ApplicationError("The event's data file is too large.", {"file": [f"At most {MAX_PAYLOAD_BYTES} bytes."]})
    ext = _payload_extension(file_name)
    already = ApplicationError(
        f"Stream {target.slug} already has an event with streamer id {streamer_local_id}.",
        {"streamer_local_id": ["Already stored."]},
    )
    if (
        streamer_local_id
        and StreamEventData.objects.filter(series=target.series, streamer_local_id=streamer_local_id).exists()
    ):
        raise already
    event = StreamEventData(
        series=target.series,
        org_id=target.org_id,
        device_timestamp=device_timestamp,
        timestamp=timestamp,
        streamer_local_id=streamer_local_id or 0,
        status="cln",
        extra_data=extra_data,
    )
    event.data_key = event_data_key(stream_slug=target.slug, timestamp=timestamp, event_uuid=event.uuid, ext=ext)
    content_type = {".csv": "text/csv", ".json": "application/json"}.get(ext, "application/gzip")
    # The payload first: a file without its row is harmless, a row without its file is not.
    store_file_save(store=EVENT_STORE, key=event.data_key, content=content, content_type=content_type)
    if not stream_events_bulk_insert(events=[event]):
        raise already  # stored meanwhile by another upload or a report
    return StreamEventData.objects.get(uuid=event.uuid)


def stream_events_bulk_insert(*, events: list[StreamEventData]) -> int:
    """Insert events, skipping those already stored: an event whose uuid is stored (a retried report's), or whose
    ``(series, streamer_local_id)`` is (whatever its time). Returns how many were inserted; one transaction.

    The table is partitioned by time, so its unique indexes hold the timestamp; as for readings, the write first
    claims the streamer-id range of each series (``stream_data_claims_sql``, on the events' claims table), so an
    overlapping write waits and then sees what this one stored (docs/databases.md)."""
    alias = router.db_for_write(StreamEventData)
    table = StreamEventData._meta.db_table
    names = ", ".join(name for name, _ in EVENT_COLUMNS)
    row_sql = "(" + ", ".join(f"%s::{kind}" for _, kind in EVENT_COLUMNS) + ")"
    inserted = 0
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        for start in range(0, len(events), EVENT_INSERT_BATCH_SIZE):
            batch = first_of_each_reading(events[start : start + EVENT_INSERT_BATCH_SIZE])
            claims, params = stream_data_claims_sql(claims=claimed_ranges(batch), table=EVENT_CLAIM_TABLE)
            for event in batch:
                params.extend(
                    json.dumps(event.extra_data) if name == "extra_data" else getattr(event, name)
                    for name, _ in EVENT_COLUMNS
                )
            cursor.execute(
                f"{claims}INSERT INTO {table} ({names}) SELECT {names} "
                f"FROM (VALUES {', '.join([row_sql] * len(batch))}) AS incoming ({names}) "
                f"WHERE {not_stored_sql('incoming', table)} "
                f"AND NOT EXISTS (SELECT 1 FROM {table} AS stored WHERE stored.uuid = incoming.uuid) "
                "ON CONFLICT DO NOTHING",
                params,
            )
            inserted += cursor.rowcount
    return inserted


def stream_events_retention_apply(*, now: datetime.datetime, project: Project | None = None) -> RetentionResult:
    """Remove the events older than their project's event retention (the same day-aligned cutoff as the data's),
    of every project or of ``project`` alone: whole monthly partitions dropped, expired events deleted in the
    others (``partitions_retention_apply``). The payload files of the events that went leave the events store after
    each partition's commit."""

    def removing(cursor, partition: Partition, condition: str, params: list[Any]) -> None:
        cursor.execute(f"SELECT data_key FROM {partition.name} WHERE ({condition}) AND data_key <> ''", params)
        keys = [key for (key,) in cursor.fetchall()]
        if keys:
            transaction.on_commit(partial(_payloads_delete, keys), using=alias)

    alias = router.db_for_write(StreamEventData)
    return partitions_retention_apply(
        alias=alias,
        table=StreamEventData._meta.db_table,
        cutoffs=retention_cutoffs(now=now, days_field="event_retention_days", project=project),
        removing=removing,
    )


def stream_events_partitions_ensure(*, now: datetime.datetime) -> list[str]:
    """The events' monthly partitions of this month and the next ones, and of the months with events in the DEFAULT
    partition; one transaction. Returns the names created."""
    alias = router.db_for_write(StreamEventData)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        return partitions_ensure(cursor, StreamEventData._meta.db_table, now=now)


def stream_events_disk_bytes() -> int:
    """What the events' partitions hold on disk (docs/retention.md); their payload files are in the events store."""
    return partitions_disk_bytes(alias=router.db_for_write(StreamEventData), table=StreamEventData._meta.db_table)


def _payloads_delete(keys: list[str]) -> None:
    for key in keys:
        store_file_delete(store=EVENT_STORE, key=key)
