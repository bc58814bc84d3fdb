"""Configuration on connect (the AWS IoT config-management workflow, in the platform's own parts).

1. A device comes online (``presence.py``): a ``config`` operation is made at once, PENDING and not ready, with the
   connection as its first step; it supersedes the device's open configuration operations.
2. The worker (``ApplyConfiguration``) resolves the device's configuration from its config attributes by priority
   (device, project, organisation), then, when ``CONFIG_PROFILE_URL`` is set, asks that service for the device's
   profile, retrying failures ``CONFIG_PROFILE_RETRIES`` times after ``CONFIG_PROFILE_RETRY_SECONDS`` doubling
   (every attempt in the history). Nothing to apply ends it SUCCEEDED at once.
3. It is sent (``operations_send``) and waits for the correlated reply, within its deadline and heartbeat;
   ``operations_close_overdue`` times it out otherwise.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from server.apps.configattribute.selectors import config_values_for_devices
from server.apps.device.models import Device
from server.apps.operation.kinds import CONFIG, CONFIG_ON_CONNECT_NAME
from server.apps.operation.models import DeviceOperation, OperationStatus, Transport
from server.apps.operation.services.operations import (
    SEND_BATCH,
    history_append,
    operations_fail,
    operations_send,
    step,
    supersede_open,
)
from server.apps.operation.services.presence import PresenceEvent
from server.apps.worker.queue import enqueue, enqueue_on_commit

logger = logging.getLogger(__name__)

# The transports a configuration request goes over: the one the device came online on (the stores: as the
# commands of the service "config", transports/store.py).
CONFIG_TRANSPORTS = (Transport.MQTT, Transport.HTTP, Transport.STORE)


def configuration_on_connect(*, events: Sequence[PresenceEvent]) -> list[DeviceOperation]:
    """One configuration operation per claimed, active device that came online; two statements and the queueing,
    whatever the number of devices. Runs inside the caller's transaction; the worker gets them after the commit."""
    if not events:
        return []
    devices = set(
        Device.objects.filter(pk__in=[event.device_id for event in events], active=True, org__isnull=False).values_list(
            "pk", "org_id"
        )
    )
    org_of = dict(devices)
    now = timezone.now()
    deadline = now + timedelta(seconds=settings.CONFIG_ON_CONNECT_DEADLINE_SECONDS)
    created = []
    for event in events:
        if event.device_id not in org_of or event.transport not in CONFIG_TRANSPORTS:
            continue
        transport = event.transport
        created.append(
            DeviceOperation(
                id=uuid.uuid4(),
                device_id=event.device_id,
                org_id=org_of[event.device_id],
                kind=CONFIG.name,
                name=CONFIG_ON_CONNECT_NAME,
                payload={},
                transport=transport,
                ready=False,
                deadline=deadline,
                heartbeat_seconds=settings.CONFIG_ON_CONNECT_HEARTBEAT_SECONDS or None,
                created_on=now,
                history=[step("connected", {"via": event.transport.value, "at": event.at.isoformat()}, at=now)],
            )
        )
    if not created:
        return []
    supersede_open(devices=[op.device_id for op in created], kind=CONFIG.name, by="a newer connection", now=now)
    DeviceOperation.objects.bulk_create(created)
    ids = [str(op.id) for op in created]
    for start in range(0, len(ids), SEND_BATCH):
        enqueue_on_commit("ApplyConfiguration", {"operation_ids": ids[start : start + SEND_BATCH]})
    return created


class ProfileError(Exception):
    pass


def profile_fetch(*, device: Device) -> Any:
    """The device's profile from ``CONFIG_PROFILE_URL`` (GET ``?device=<slug>&externalId=<external id>``, JSON)."""
    query = urllib.parse.urlencode({"device": device.slug, "externalId": device.external_id})
    separator = "&" if "?" in settings.CONFIG_PROFILE_URL else "?"
    url = f"{settings.CONFIG_PROFILE_URL}{separator}{query}"
    try:
        with urllib.request.urlopen(url, timeout=settings.CONFIG_PROFILE_TIMEOUT_SECONDS) as response:
            return json.loads(response.read(settings.OPERATION_MESSAGE_MAX_BYTES))
    except urllib.error.HTTPError as exc:
        raise ProfileError(f"the profile service answered {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ProfileError(f"the profile service cannot be reached: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProfileError(f"the profile service answered something that is not JSON: {exc}") from exc


# One statement for the batch: each operation's payload and readiness, and its new steps appended to its history.
_PREPARED_WRITE = """
UPDATE operation_deviceoperation AS op SET payload = v.payload, ready = v.ready, history = op.history || v.steps
FROM unnest(%s::uuid[], %s::jsonb[], %s::boolean[], %s::jsonb[]) AS v(id, payload, ready, steps)
WHERE op.id = v.id
"""


def _prepared_write(operations: Sequence[DeviceOperation], steps_of: dict[Any, list[dict[str, Any]]]) -> None:
    columns: tuple[list[Any], ...] = ([], [], [], [])
    for op in operations:
        for column, value in zip(
            columns, (str(op.id), json.dumps(op.payload), op.ready, json.dumps(steps_of[op.id])), strict=True
        ):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_PREPARED_WRITE, list(columns))


def profile_retry_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: 2, 4, 8 … (the sample's 2 s doubling)."""
    return float(settings.CONFIG_PROFILE_RETRY_SECONDS) * 2 ** (attempt - 1)


def configurations_apply(*, operation_ids: Sequence[str], profile_attempt: int = 1) -> int:
    """Resolve and send the configuration of the given operations (those still pending and not ready); returns
    how many were sent. Profile failures are retried by queueing the failed ones again with a delay."""
    with transaction.atomic():
        operations = list(
            DeviceOperation.objects.select_for_update(of=("self",))
            .filter(id__in=list(operation_ids), status=OperationStatus.PENDING, ready=False)
            .select_related("device__project", "device__org")
            .order_by("id")
        )
        if not operations:
            return 0
        values = config_values_for_devices(devices=[op.device for op in operations])
        now = timezone.now()
        retry: list[DeviceOperation] = []
        given_up: list[tuple[DeviceOperation, str]] = []
        nothing: list[DeviceOperation] = []
        ready: list[DeviceOperation] = []
        steps_of: dict[Any, list[dict[str, Any]]] = {}
        for operation in operations:
            value = values.get(operation.device_id, {})
            entries = [] if profile_attempt > 1 else [step("configuration resolved", {"names": sorted(value)}, at=now)]
            steps_of[operation.id] = entries
            if settings.CONFIG_PROFILE_URL:
                try:
                    profile = profile_fetch(device=operation.device)
                except ProfileError as exc:
                    entries.append(step("profile", {"attempt": profile_attempt, "error": str(exc)}, at=now))
                    if profile_attempt <= settings.CONFIG_PROFILE_RETRIES:
                        retry.append(operation)
                    else:
                        given_up.append((operation, str(exc)))
                    continue
                entries.append(step("profile", {"attempt": profile_attempt, "ok": True}, at=now))
                value = {**value, **profile} if isinstance(profile, dict) else {**value, "profile": profile}
            operation.payload = value
            operation.ready = True
            (ready if value else nothing).append(operation)
        _prepared_write(operations, steps_of)
        if nothing:
            DeviceOperation.objects.filter(id__in=[op.id for op in nothing]).update(
                status=OperationStatus.SUCCEEDED,
                closed_on=now,
                history=history_append(step("nothing to apply", at=now)),
            )
        for operation, error in given_up:
            operations_fail(
                operation_ids=[operation.id],
                error=f"The profile service failed {profile_attempt} times: {error}",
                step_name="profile failed",
            )
        if retry:
            delay = profile_retry_delay(profile_attempt)
            ids = [str(op.id) for op in retry]
            DeviceOperation.objects.filter(id__in=[op.id for op in retry]).update(
                history=history_append(step("profile retry", {"in_seconds": delay}, at=now))
            )
            transaction.on_commit(
                lambda: enqueue(
                    "ApplyConfiguration", {"operation_ids": ids, "profile_attempt": profile_attempt + 1}, delay=delay
                )
            )
    return operations_send(operation_ids=[op.id for op in ready])
