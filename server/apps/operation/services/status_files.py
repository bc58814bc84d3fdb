"""Command results through the file stores (the RustiQ monitoring service).

A device answers its ``commands.json`` by writing ``<device>/<service>/last_monitoring_status.json`` in the
``status`` store::

    {"general_status": "ok", "general_error": "",
     "commands": [{"command": "get_app_status()", "result": "<JSON as a string>", "status": "ok"}, …]}

:func:`status_files_read` (the worker's ``ReadStatusFiles``, every ``OPERATION_SWEEP_SECONDS``) reads the file of
every device and service that has commands waiting, once per version of the file (its digest is kept). Each entry
answers the operation it names (``operationId``, which the platform writes in ``commands.json``), or else the
oldest waiting command with the same text; it is recorded as a reply, so a duplicate or an entry that matches
nothing changes nothing. A file that cannot be read becomes an error on its device.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from server.apps.core.slugs import SlugError, parse_device_slug
from server.apps.operation.models import (
    DeviceMessageError,
    DeviceOperation,
    DeviceServiceStatus,
    OperationStatus,
    Transport,
)
from server.apps.operation.services.configuration import configuration_on_connect
from server.apps.operation.services.operations import operation_replies_record
from server.apps.operation.services.presence import SEEN, PresenceEvent, presence_record
from server.apps.operation.transports.store import (
    STATUS_FILE,
    STATUS_STORE,
    STORE_KINDS,
    command_service,
    status_key,
)
from server.apps.operation.wire import MessageError, Reply, excerpt, json_from_bytes
from server.apps.stores.backends import StoreFileNotFoundError
from server.apps.stores.selectors import store_file_read

logger = logging.getLogger(__name__)


def _entries(body: Any) -> tuple[str, str, list[dict[str, Any]]]:
    if not isinstance(body, dict):
        raise MessageError("A status file is a JSON object.")
    commands = body.get("commands", [])
    if not isinstance(commands, list) or not all(isinstance(entry, dict) for entry in commands):
        raise MessageError("'commands' is a list of {command, result, status}.")
    for entry in commands:
        if not isinstance(entry.get("command"), str) or not isinstance(entry.get("status"), str):
            raise MessageError("Each command entry needs a command and a status (text).")
    return str(body.get("general_status") or "")[:200], str(body.get("general_error") or ""), commands


def _result(value: Any) -> Any:
    """``result`` is JSON written as a string; kept as it is when it is not."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _replies(device_id: int, waiting: list[DeviceOperation], commands: list[dict[str, Any]]) -> list[Reply]:
    by_id = {str(op.id): op for op in waiting}
    unmatched = list(waiting)
    replies = []
    for entry in commands:
        operation = by_id.get(str(entry.get("operationId") or ""))
        if operation is None:
            operation = next((op for op in unmatched if op.payload.get("command") == entry["command"]), None)
        if operation in unmatched:
            unmatched.remove(operation)
        raw_id = str(entry.get("operationId") or (operation.id if operation else entry["command"]))
        replies.append(
            Reply(
                operation_id=operation.id if operation else None,
                name=entry["command"][:64],
                status=entry["status"][:32],
                value=_result(entry.get("result")),
                error=str(entry.get("error") or "")[:2000],
                raw_id=raw_id[:80],
            )
        )
    return replies


def _status_file_of(key: str) -> tuple[int, str] | None:
    """The device id and service of a key of the ``status`` store that is a status file, else None."""
    parts = key.split("/")
    if len(parts) != 3 or parts[2] != STATUS_FILE:
        return None
    try:
        return parse_device_slug(parts[0]), parts[1]
    except SlugError:
        return None


def status_files_arrived(keys: list[str]) -> int:
    """New objects in the ``status`` store, as its bucket's S3 event notifications tell them (the stores app calls
    this, ``register_store_watch``): the status files among them are read at once rather than at the next poll.
    Returns how many were new."""
    files = {found for found in map(_status_file_of, keys) if found is not None}
    return status_files_read(only=files) if files else 0


def status_files_read(*, only: set[tuple[int, str]] | None = None) -> int:
    """Read the status files of every device and service with commands waiting (``only`` those of these
    ``(device id, service)``); returns how many files were new."""
    waiting: dict[tuple[int, str, str], list[DeviceOperation]] = {}
    sent = DeviceOperation.objects.filter(transport=Transport.STORE, kind__in=STORE_KINDS, status=OperationStatus.SENT)
    if only is not None:
        sent = sent.filter(device_id__in={device_id for device_id, _ in only})
    for operation in sent.select_related("device").order_by("created_on", "id"):
        if only is not None and (operation.device_id, command_service(operation)) not in only:
            continue
        waiting.setdefault((operation.device_id, operation.device.slug, command_service(operation)), []).append(
            operation
        )
    known = {
        (row.device_id, row.service): row.digest
        for row in DeviceServiceStatus.objects.filter(device_id__in={device_id for device_id, _, _ in waiting})
    }
    read = 0
    for (device_id, slug, service), operations in waiting.items():
        file_key = status_key(slug, service)
        try:
            content = store_file_read(store=STATUS_STORE, key=file_key)
        except StoreFileNotFoundError:
            continue
        digest = hashlib.sha256(content).hexdigest()
        if known.get((device_id, service)) == digest:
            continue
        status_file_record(
            device_id=device_id,
            org_id=operations[0].org_id,
            service=service,
            key=file_key,
            content=content,
            digest=digest,
            waiting=operations,
        )
        read += 1
    return read


@transaction.atomic
def status_file_record(
    *,
    device_id: int,
    org_id: Any,
    service: str,
    key: str,
    content: bytes,
    digest: str,
    waiting: list[DeviceOperation],
) -> None:
    now = timezone.now()
    general_status, general_error = "", ""
    try:
        general_status, general_error, commands = _entries(json_from_bytes(content, "status file"))
    except MessageError as exc:
        logger.info("unreadable status file %s: %s", key, exc)
        DeviceMessageError.objects.create(
            device_id=device_id,
            org_id=org_id,
            transport=Transport.STORE,
            source=f"{STATUS_STORE}/{key}"[:300],
            error=str(exc),
            excerpt=excerpt(content),
        )
        general_status, general_error = "unreadable", str(exc)
    else:
        operation_replies_record(
            replies=[(device_id, reply) for reply in _replies(device_id, waiting, commands)],
            transport=Transport.STORE,
            now=now,
        )
    DeviceServiceStatus.objects.update_or_create(
        device_id=device_id,
        service=service,
        defaults={
            "org_id": org_id,
            "general_status": general_status,
            "general_error": general_error,
            "digest": digest,
            "read_on": now,
        },
    )
    configuration_on_connect(events=presence_record(events=[PresenceEvent(device_id, SEEN, now, Transport.STORE)]))
