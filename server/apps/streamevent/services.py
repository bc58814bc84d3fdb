"""Writes on events: an event uploaded with its payload (``event/upload/``). Events that come in streamer reports
are written by the report worker (server/apps/streamer/services/processing.py)."""

from __future__ import annotations

import datetime
import uuid
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.db import transaction

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.slugs import SlugError
from server.apps.stores.services import store_file_delete, store_file_save
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_list, stream_lookup
from server.apps.streamdata.services import retention_cutoff
from server.apps.streamevent.models import StreamEventData

EVENT_STORE = "events"
PAYLOAD_EXTENSIONS = (".json.gz", ".json", ".csv")
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
EVENT_DELETE_BATCH_SIZE = 1000


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
    if (
        streamer_local_id
        and StreamEventData.objects.filter(series=target.series, streamer_local_id=streamer_local_id).exists()
    ):
        raise ApplicationError(
            f"Stream {target.slug} already has an event with streamer id {streamer_local_id}.",
            {"streamer_local_id": ["Already stored."]},
        )
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
    with transaction.atomic():
        event.save(force_insert=True)
    return event


def stream_events_retention_apply(*, now: datetime.datetime) -> int:
    """Delete the events older than their project's event retention (the same day-aligned cutoff as the data's),
    in batches of their own transaction; each batch's payload files leave the events store after its commit.
    Returns how many events went."""
    limited = StreamId.objects.filter(project__event_retention_days__isnull=False)
    by_cutoff: dict[datetime.datetime, list[int]] = {}
    for one_series, days in limited.values_list("series", "project__event_retention_days"):
        if days is not None:
            by_cutoff.setdefault(retention_cutoff(now=now, days=days), []).append(one_series)
    deleted = 0
    for cutoff, series in sorted(by_cutoff.items()):
        expired = StreamEventData.objects.filter(series__in=sorted(series), timestamp__lt=cutoff).order_by("id")
        while batch := list(expired.values_list("id", "data_key")[:EVENT_DELETE_BATCH_SIZE]):
            with transaction.atomic():
                StreamEventData.objects.filter(id__in=[event_id for event_id, _ in batch]).delete()
                keys = [key for _, key in batch if key]
                transaction.on_commit(partial(_payloads_delete, keys))
            deleted += len(batch)
    return deleted


def _payloads_delete(keys: list[str]) -> None:
    for key in keys:
        store_file_delete(store=EVENT_STORE, key=key)
