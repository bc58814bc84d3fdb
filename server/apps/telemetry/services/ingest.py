"""Ingest: raw message first, then values on the physical device's streams, then routing to its logical device and
the routed consumers, for a batch of messages from any source in a handful of statements (docs/telemetry.md).

The raw rows commit first, on the default database, naming the ids their values will have; the values follow on the
streamdata database under those ids. A crash between the two commits leaves raw rows whose values are missing, and
delivering the message again (same source and message id) writes exactly those: a row already stored is skipped."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from server.apps.core.slugs import device_slug, variable_slug
from server.apps.device.models import Device
from server.apps.project.models import Project
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.stream.services import device_streams_ensure
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_ids_reserve, stream_data_row
from server.apps.telemetry.message import NormalisedMessage, routed_messages_offer
from server.apps.telemetry.models import (
    DeviceMapping,
    LogicalDevice,
    PhysicalDevice,
    RawMessage,
    RawMessageSource,
    RawMessageStatus,
)
from server.apps.telemetry.services.series import logical_series_extend
from server.apps.telemetry.wire import BodyError, Telemetry, future_check, telemetry_read, uplink_read

logger = logging.getLogger(__name__)

# Variables made for telemetry keys take ids from here up; the ids below are IOTile's.
TELEMETRY_LID_FIRST = 0x8000
TELEMETRY_LID_LAST = 0xFFFF


@dataclass(frozen=True)
class DeviceRef:
    """The device a message is from, as the source found it."""

    id: int
    slug: str
    org_id: Any
    project_id: Any


@dataclass
class Inbound:
    """One message as it arrived. ``read`` turns the body into values (raising :class:`BodyError`); ``message_id``
    is the sender's own id for it, when the transport has one outside the body."""

    source: str
    device: DeviceRef | None
    org_id: Any
    body: bytes
    received_at: datetime
    read: Callable[[bytes], Telemetry]
    message_id: str | None = None


@dataclass
class Outcome:
    correlation_id: uuid.UUID
    status: str
    error: str = ""
    stored: int = 0
    duplicate: bool = False


@dataclass
class _Message:
    inbound: Inbound
    correlation_id: uuid.UUID
    source_message_id: str
    telemetry: Telemetry | None
    error: str
    raw_id: int | None = None
    status: str = RawMessageStatus.HELD
    rows: list[StreamData] = field(default_factory=list)
    data_ids: list[int] = field(default_factory=list)
    logical_device_id: int | None = None


def _body_text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _prepare(inbound: Inbound, now: datetime) -> _Message:
    correlation_id = uuid.uuid4()
    telemetry: Telemetry | None = None
    error = ""
    try:
        telemetry = inbound.read(inbound.body)
        future_check(telemetry.entries, now=now)
    except BodyError as exc:
        error = str(exc)
    own_id = inbound.message_id or (telemetry.message_id if telemetry else None)
    if own_id is None and telemetry is not None and all(entry.timestamp for entry in telemetry.entries):
        # Timed values: the same body sent again is the same message.
        own_id = "sha256:" + hashlib.sha256(inbound.body).hexdigest()
    if own_id is None:
        source_message_id = str(correlation_id)
    else:
        source_message_id = f"{inbound.device.slug}:{own_id}" if inbound.device else own_id
    return _Message(inbound, correlation_id, source_message_id[:200], telemetry if not error else None, error)


def _raw_insert(messages: list[_Message], seen_sql: str, seen_params: list[Any]) -> None:
    """Store every message raw with its outcome (refused ones with their reason) and its values' ids, in one
    statement with the devices' ``last_seen`` (``seen_sql``); a message stored before (same source and id) is left
    as it was, and its ``raw_id`` stays None."""
    table = RawMessage._meta.db_table
    values = []
    params: list[Any] = list(seen_params)
    for message in messages:
        inbound = message.inbound
        values.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::bigint[], %s::bigint, %s)")
        params.extend(
            [
                message.correlation_id,
                inbound.source,
                message.source_message_id,
                inbound.org_id,
                inbound.device.id if inbound.device else None,
                inbound.received_at,
                _body_text(inbound.body),
                RawMessageStatus.REFUSED if message.error else message.status,
                message.error,
                message.data_ids,
                message.logical_device_id,
                bool(message.data_ids),
            ]
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"{seen_sql}INSERT INTO {table} (correlation_id, source, source_message_id, org_id, device_id, "
            "received_at, body, status, error, data_ids, logical_device_id, values_pending) "
            f"VALUES {', '.join(values)} "
            "ON CONFLICT (source, source_message_id) DO NOTHING RETURNING id, correlation_id",
            params,
        )
        inserted = {correlation_id: raw_id for raw_id, correlation_id in cursor.fetchall()}
    for message in messages:
        message.raw_id = inserted.get(message.correlation_id)


def _variables_make(project_id: Any, names: set[str]) -> None:
    """The project's variables for these keys, made with the next free ids from 0x8000 (the project row locked, so
    two ingests making the same key make it once)."""
    project = Project.objects.select_for_update().get(pk=project_id)
    have = set(StreamVariable.objects.filter(project=project, name__in=names).values_list("name", flat=True))
    missing = sorted(names - have)
    if not missing:
        return
    used = StreamVariable.objects.filter(project=project, lid__gte=TELEMETRY_LID_FIRST).order_by("-lid").first()
    lid = used.lid + 1 if used else TELEMETRY_LID_FIRST
    if lid + len(missing) - 1 > TELEMETRY_LID_LAST:
        raise BodyError("The project has no variable ids left for new keys.")
    StreamVariable.objects.bulk_create(
        [
            StreamVariable(
                slug=variable_slug(project.gid, lid + offset),
                org_id=project.org_id,
                project=project,
                lid=lid + offset,
                name=name,
            )
            for offset, name in enumerate(missing)
        ]
    )


# The columns of a device's current mapping that routing reads, read with its streams (``_streams_for``).
MAPPING_COLUMNS = ("id", "logical_device_id", "is_active", "start")


def _streams_for(wanted: dict[int, set[str]], projects: dict[int, Any]) -> dict[tuple[int, str], StreamId]:
    """Per (device id, key), the device's live stream of the key's variable (its id, series and device only), with
    the device's current mapping in its ``mapping_*`` attributes (:func:`_current_mappings`); made when missing. One
    query when every stream exists. The hot path's queries are written out: the ORM's compilation of them cost more
    than their execution."""
    mapping_columns = ", ".join(f'mapping."{column}" AS mapping_{column}' for column in MAPPING_COLUMNS)

    def read() -> dict[tuple[int, str], StreamId]:
        # Any: each row also carries the key and mapping columns as attributes.
        rows: Iterable[Any] = StreamId.objects.raw(
            f"SELECT stream.id, stream.series, stream.device_id, variable.name AS key, {mapping_columns} "
            f"FROM {StreamId._meta.db_table} AS stream "
            f"JOIN {StreamVariable._meta.db_table} AS variable ON variable.id = stream.variable_id "
            f"LEFT JOIN {DeviceMapping._meta.db_table} AS mapping ON mapping.physical_device_id = stream.device_id "
            'AND mapping."end" IS NULL '
            "WHERE stream.device_id = ANY(%s) AND stream.block_id IS NULL AND variable.name = ANY(%s)",
            [sorted(wanted), sorted(set().union(*wanted.values()))],
        )
        return {(stream.device_id, stream.key): stream for stream in rows}

    streams = read()
    missing = {
        device_id: {key for key in keys if (device_id, key) not in streams} for device_id, keys in wanted.items()
    }
    missing = {device_id: keys for device_id, keys in missing.items() if keys}
    if not missing:
        return streams
    by_project: dict[Any, set[str]] = {}
    for device_id, keys in missing.items():
        by_project.setdefault(projects[device_id], set()).update(keys)
    for project_id, names in by_project.items():
        _variables_make(project_id, names)
    devices = Device.objects.filter(pk__in=list(missing)).select_related("project")
    for device in devices:
        lids = StreamVariable.objects.filter(project_id=projects[device.pk], name__in=missing[device.pk]).values_list(
            "lid", flat=True
        )
        device_streams_ensure(device=device, lids=list(lids))
    return read()


def _current_mappings(streams: Iterable[Any]) -> dict[int, DeviceMapping]:
    """Each device's current mapping (by device id), as its streams were read with it (:func:`_streams_for`)."""
    found: dict[int, DeviceMapping] = {}
    for stream in streams:
        if stream.mapping_id is not None and stream.device_id not in found:
            values = {column: getattr(stream, f"mapping_{column}") for column in MAPPING_COLUMNS}
            values["physical_device_id"] = stream.device_id
            # from_db takes the loaded columns in the model's order; the others are deferred.
            names = [f.attname for f in DeviceMapping._meta.concrete_fields if f.attname in values]
            found[stream.device_id] = DeviceMapping.from_db(
                DeviceMapping.objects.db, names, [values[name] for name in names]
            )
    return found


def _keys_wanted(messages: list[_Message]) -> tuple[dict[int, set[str]], dict[int, Any]]:
    """The keys each device's messages hold (by device id), and each device's project."""
    wanted: dict[int, set[str]] = {}
    projects: dict[int, Any] = {}
    for message in messages:
        device = message.inbound.device
        assert device is not None
        assert message.telemetry is not None
        projects[device.id] = device.project_id
        for entry in message.telemetry.entries:
            wanted.setdefault(device.id, set()).update(entry.values)
    return wanted, projects


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _normalised(message: _Message) -> NormalisedMessage:
    inbound = message.inbound
    assert message.telemetry is not None
    assert inbound.device is not None
    entries = message.telemetry.entries
    default = entries[0].timestamp or inbound.received_at
    timeseries = []
    for entry in entries:
        moment = entry.timestamp or inbound.received_at
        for name, value in entry.values.items():
            point: dict[str, Any] = {"name": name, "value": value}
            if moment != default:
                point["timestamp"] = _iso(moment)
            timeseries.append(point)
    return {
        "broker_correlation_id": str(message.correlation_id),
        "p_uid": inbound.device.id,
        "l_uid": message.logical_device_id,
        "timestamp": _iso(default),
        "timestamp_received": _iso(inbound.received_at),
        "timeseries": timeseries,  # type: ignore[typeddict-item]
        "p_slug": inbound.device.slug,
        "org_id": str(inbound.org_id),
        "source": inbound.source,
    }


@dataclass
class _Stored:
    """A message stored before: its first delivery's correlation id and outcome, and what it says of its values."""

    correlation_id: uuid.UUID
    status: str
    received_at: datetime
    body: str
    data_ids: list[int]


def _stored_before(messages: list[_Message]) -> dict[uuid.UUID, _Stored]:
    """For messages stored before, by this delivery's correlation id: the first delivery's raw row. One query."""
    duplicates = [message for message in messages if message.raw_id is None]
    if not duplicates:
        return {}
    by_key = {
        (source, source_id): _Stored(correlation_id, status, received_at, body, data_ids)
        for source, source_id, correlation_id, status, received_at, body, data_ids in RawMessage.objects.filter(
            source__in={message.inbound.source for message in duplicates},
            source_message_id__in=[message.source_message_id for message in duplicates],
        ).values_list("source", "source_message_id", "correlation_id", "status", "received_at", "body", "data_ids")
    }
    return {
        message.correlation_id: by_key[(message.inbound.source, message.source_message_id)]
        for message in duplicates
        if (message.inbound.source, message.source_message_id) in by_key
    }


def _rows(message: _Message, streams: dict[tuple[int, str], StreamId], received_at: datetime) -> list[StreamData]:
    """The message's values as rows of its device's streams; an entry without a time is timed ``received_at``."""
    device = message.inbound.device
    assert device is not None
    assert message.telemetry is not None
    return [
        stream_data_row(series=streams[(device.id, key)].series, timestamp=entry.timestamp or received_at, value=value)
        for entry in message.telemetry.entries
        for key, value in entry.values.items()
    ]


def _rows_again(message: _Message, stored: _Stored, streams: dict[tuple[int, str], StreamId]) -> list[StreamData]:
    """The rows a message stored before names (``data_ids``), rebuilt from this delivery when it carries the same
    body: writing them again stores those a crash lost, and no other."""
    if not stored.data_ids or message.telemetry is None or stored.body != _body_text(message.inbound.body):
        return []
    rows = _rows(message, streams, stored.received_at)
    if len(rows) != len(stored.data_ids):
        return []
    for row, row_id in zip(rows, stored.data_ids, strict=True):
        row.id = row_id
    return rows


@dataclass
class Ingested:
    """A batch stored raw on the default database: each message's outcome, and the values still to write."""

    outcomes: list[Outcome]
    rows: list[StreamData]


def telemetry_messages_ingest(*, inbounds: Sequence[Inbound]) -> list[Outcome]:
    """Ingest a batch from outside any transaction: the raw rows commit (:func:`telemetry_messages_store`), then
    their values (:func:`telemetry_values_write`). Never raises for a bad message: its outcome says ``refused``."""
    with transaction.atomic(durable=True):
        ingested = telemetry_messages_store(inbounds=inbounds)
    telemetry_values_write(rows=ingested.rows)
    return ingested.outcomes


def telemetry_values_write(*, rows: Sequence[StreamData]) -> list[int]:
    """The values of raw rows already committed, under the ids those name, in one transaction on the streamdata
    database; a row stored already (a redelivery after a crash, or a concurrent one) is skipped. Returns the ids
    written."""
    return stream_data_bulk_insert(rows=rows) if rows else []


def telemetry_messages_store(*, inbounds: Sequence[Inbound]) -> Ingested:
    """Store a batch raw, in the caller's transaction on the default database: every message once per source and
    message id, with its outcome and the ids of its values (reserved now, written once this commits), its device's
    ``last_seen``, and for a device mapped to a logical device (mapping current and not paused) its routing and the
    routed consumers. A message stored before gives back the rows its first delivery named, to be written again."""
    now = timezone.now()
    messages = [_prepare(inbound, now) for inbound in inbounds]
    if not messages:
        return Ingested([], [])
    storable = [
        m for m in messages if not m.error and m.inbound.device is not None and m.inbound.device.project_id is not None
    ]

    # The streams: one per (device, key).
    wanted, projects = _keys_wanted(storable)
    streams: dict[tuple[int, str], StreamId] = {}
    if wanted:
        try:
            streams = _streams_for(wanted, projects)
        except BodyError as exc:
            for message in storable:
                message.error = str(exc)
            storable = []

    # The mappings: which devices are routed now.
    mappings = _current_mappings(streams.values())
    routed_keys: dict[int, set[str]] = {}
    for message in storable:
        device = message.inbound.device
        assert device is not None
        assert message.telemetry is not None
        mapping = mappings.get(device.id)
        if mapping is None:
            message.status = RawMessageStatus.UNMAPPED
        elif not mapping.is_active:
            message.status = RawMessageStatus.PAUSED
        else:
            message.status = RawMessageStatus.ROUTED
            message.logical_device_id = mapping.logical_device_id
            routed_keys.setdefault(device.id, set()).update(*(entry.values for entry in message.telemetry.entries))
        message.rows = _rows(message, streams, message.inbound.received_at)
    if routed_keys:
        logical_series_extend(
            wanted={mappings[device_id]: keys for device_id, keys in routed_keys.items()},
            streams=streams,
        )

    # The values' ids, so the raw rows name them before they are written.
    ids = iter(stream_data_ids_reserve(count=sum(len(message.rows) for message in storable)))
    for message in storable:
        for row in message.rows:
            row.id = next(ids)
        message.data_ids = [row.id for row in message.rows]

    _raw_insert(messages, *_last_seen_sql(storable, now))
    duplicates = _stored_before(messages)
    fresh = [m for m in storable if m.raw_id is not None]
    routed_messages_offer(messages=[_normalised(m) for m in fresh if m.status == RawMessageStatus.ROUTED])

    outcomes = []
    rows = [row for message in fresh for row in message.rows]
    written = {row.id for row in rows}
    for message in messages:
        if message.raw_id is None and message.correlation_id in duplicates:
            stored = duplicates[message.correlation_id]
            if message.rows and not written.intersection(stored.data_ids):  # not written by this batch already
                again = _rows_again(message, stored, streams)
                rows.extend(again)
                written.update(row.id for row in again)
            outcomes.append(Outcome(stored.correlation_id, stored.status, duplicate=True))
        elif message.error:
            outcomes.append(Outcome(message.correlation_id, RawMessageStatus.REFUSED, error=message.error))
        else:
            outcomes.append(Outcome(message.correlation_id, message.status, stored=len(message.data_ids)))
    return Ingested(outcomes, rows)


def _last_seen_sql(messages: list[_Message], now: datetime) -> tuple[str, list[Any]]:
    """A ``WITH`` prefix for the raw insert: every device heard from becomes a physical device (source: how it was
    first heard), and its ``last_seen`` and its logical device's move on (never past now, never back: a message
    delivered again changes nothing)."""
    if not messages:
        return "", []
    seen: dict[int, tuple[Any, str, datetime]] = {}
    logical_seen: dict[int, datetime] = {}
    for message in messages:
        inbound = message.inbound
        assert inbound.device is not None
        assert message.telemetry is not None
        latest = min(now, max(entry.timestamp or inbound.received_at for entry in message.telemetry.entries))
        known = seen.get(inbound.device.id)
        if known is None or latest > known[2]:
            seen[inbound.device.id] = (inbound.org_id, inbound.source, latest)
        if message.logical_device_id is not None:
            logical_seen[message.logical_device_id] = max(latest, logical_seen.get(message.logical_device_id, latest))
    values = ", ".join(["(%s, %s, %s, '', '{}'::jsonb, '{}'::jsonb, %s, %s)"] * len(seen))
    params: list[Any] = []
    for device_id, (org_id, source, moment) in sorted(seen.items()):
        params.extend([device_id, org_id, source, moment, now])
    sql = (
        f"WITH seen AS (INSERT INTO {PhysicalDevice._meta.db_table} AS pd (device_id, org_id, source_name, "
        f"source_key, source_ids, properties, last_seen, created_on) VALUES {values} ON CONFLICT (device_id) DO "
        "UPDATE SET last_seen = GREATEST(pd.last_seen, EXCLUDED.last_seen))"
    )
    if logical_seen:
        ld_values = ", ".join(["(%s::bigint, %s::timestamptz)"] * len(logical_seen))
        params.extend(item for pair in sorted(logical_seen.items()) for item in pair)
        sql += (
            f", logical_seen AS (UPDATE {LogicalDevice._meta.db_table} AS ld SET last_seen = "
            f"GREATEST(ld.last_seen, v.seen) FROM (VALUES {ld_values}) AS v (id, seen) WHERE ld.id = v.id)"
        )
    return sql + " ", params


# How a stored body is read again, by source, to rebuild the values it named.
READERS: dict[str, Callable[[bytes], Telemetry]] = {
    RawMessageSource.HTTP: telemetry_read,
    RawMessageSource.MQTT: telemetry_read,
    RawMessageSource.TTN: lambda body: uplink_read(body).telemetry,
}
MEND_BATCH_SIZE = 500


def telemetry_values_mend(*, received_before: datetime, batch_size: int = MEND_BATCH_SIZE) -> int:
    """Write the values a crash left missing: raw rows received before ``received_before`` and not yet seen by this
    (``values_pending``) whose ``data_ids`` are not all stored are rebuilt from their bodies as a redelivery rebuilds
    them (:func:`_rows_again`) and written as it writes them (:func:`telemetry_values_write`: a write claim on the
    ids, a stored id skipped, so two runs at once, or a run and a redelivery, store each value once). The rows'
    outcomes stay as they were (an unmapped or paused message is not routed now). Then the rows are no longer
    pending. Returns how many values were written. Costs three queries a batch when nothing is missing."""
    missing_total = 0
    while True:
        pending = list(
            RawMessage.objects.filter(values_pending=True, received_at__lt=received_before)
            .order_by("received_at")
            .values_list(
                "id",
                "correlation_id",
                "source",
                "device_id",
                "device__project_id",
                "org_id",
                "received_at",
                "body",
                "status",
                "data_ids",
            )[:batch_size]
        )
        if not pending:
            return missing_total
        stored_ids = set(
            StreamData.objects.filter(id__in=[row_id for *_, data_ids in pending for row_id in data_ids]).values_list(
                "id", flat=True
            )
        )
        lacking = [row for row in pending if not stored_ids.issuperset(row[-1])]
        if lacking:
            missing_total += _values_rewrite(lacking)
        RawMessage.objects.filter(id__in=[row[0] for row in pending]).update(values_pending=False)
        if len(pending) < batch_size:
            return missing_total


def _values_rewrite(raw_rows: list[tuple[Any, ...]]) -> int:
    """The values of these raw rows, rebuilt from their bodies and written again (those stored are skipped)."""
    messages: list[tuple[_Message, _Stored]] = []
    for raw_id, correlation_id, source, device_id, project_id, org_id, received_at, body, status, data_ids in raw_rows:
        reader = READERS.get(source)
        if device_id is None or project_id is None or reader is None:
            logger.warning("raw message %s: values %s cannot be mended (no device or project)", raw_id, data_ids)
            continue
        inbound = Inbound(
            source=source,
            device=DeviceRef(device_id, device_slug(device_id), org_id, project_id),
            org_id=org_id,
            body=body.encode(),
            received_at=received_at,
            read=reader,
        )
        try:
            telemetry = reader(inbound.body)
        except BodyError as exc:
            logger.warning("raw message %s: values %s cannot be mended: %s", raw_id, data_ids, exc)
            continue
        stored = _Stored(correlation_id, status, received_at, body, data_ids)
        messages.append((_Message(inbound, correlation_id, "", telemetry, ""), stored))
    wanted, projects = _keys_wanted([message for message, _stored in messages])
    if not wanted:
        return 0
    try:
        with transaction.atomic():  # making a missing stream locks its project
            streams = _streams_for(wanted, projects)
    except BodyError as exc:
        logger.warning("raw messages %s: values cannot be mended: %s", [raw[0] for raw in raw_rows], exc)
        return 0
    rows: list[StreamData] = []
    for message, stored in messages:
        again = _rows_again(message, stored, streams)
        if not again:
            logger.warning(
                "raw message %s: its body no longer gives its values %s", message.correlation_id, stored.data_ids
            )
        rows.extend(again)
    return len(telemetry_values_write(rows=rows))
