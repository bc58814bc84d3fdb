"""Writes on device operations: create, send, record replies, cancel, supersede, close what is overdue.

Every change of status is one statement or one transaction that also appends the step to the operation's
``history``, so the history is always the story of the row. Work that leaves the database (publishing, writing a
file, calling the profile service) runs in the worker (``jobs.py``), enqueued after the commit.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Func, JSONField, Q, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone

from server.apps.audit.services import audit_changes_record
from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.scoping import user_can_create, user_has_org_permission
from server.apps.device.models import Device
from server.apps.operation.kinds import OperationKind, get_kind, payload_size_check
from server.apps.operation.models import (
    OPEN_STATUSES,
    DeviceOperation,
    OperationStatus,
    Transport,
)
from server.apps.operation.transports import get_transport
from server.apps.operation.wire import Reply
from server.apps.worker.queue import enqueue_on_commit

logger = logging.getLogger(__name__)

# Operations per worker message: the worker sends a batch with one query to load it and one to mark it sent.
SEND_BATCH = 200
# At most this many operations are queued by one request (every device of a project).
MAX_OPERATIONS_PER_REQUEST = 5000
# The longest deadline a user may ask for.
MAX_DEADLINE = timedelta(days=30)


def step(name: str, detail: Any = None, *, at: datetime | None = None) -> dict[str, Any]:
    """One entry of an operation's history."""
    entry: dict[str, Any] = {"at": (at or timezone.now()).isoformat(), "step": name}
    if detail not in (None, "", {}):
        entry["detail"] = detail
    return entry


class HistoryAppend(Func):
    """``history || '[<step>]'``: appends to the history inside an UPDATE, without reading the row."""

    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = JSONField()


def history_append(*entries: dict[str, Any]) -> HistoryAppend:
    return HistoryAppend(F("history"), Value(list(entries), output_field=JSONField()))


def operations_send_later(operations: Sequence[DeviceOperation]) -> None:
    """Queue the sending of the operations the worker delivers (MQTT, stores); HTTP ones wait for the device's
    poll."""
    ids = [str(op.id) for op in operations if op.transport != Transport.HTTP]
    for start in range(0, len(ids), SEND_BATCH):
        enqueue_on_commit("SendOperations", {"operation_ids": ids[start : start + SEND_BATCH]})


# Creating ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationRequest:
    """What a user asks for, checked once for every device it goes to."""

    kind: OperationKind
    name: str
    payload: Any
    transport: Transport | None
    deadline: timedelta
    heartbeat_seconds: int | None


def operation_request_clean(
    *,
    kind: str,
    payload: Any,
    name: str | None = None,
    transport: str | None = None,
    deadline_seconds: int | None = None,
    heartbeat_seconds: int | None = None,
) -> OperationRequest:
    """What a user asks for, checked by its kind. ``payload`` is ``None`` when the request carries none: a 400 for a
    kind that needs one, else ``{}``, which the kind's check then reads like any payload."""
    operation_kind = get_kind(kind)
    if payload is None:
        if operation_kind.payload_required:
            raise ApplicationError(
                f"Operations of kind {operation_kind.name} need a payload.", {"payload": ["This field is required."]}
            )
        payload = {}
    payload_size_check(payload)
    wire_name, clean_payload = operation_kind.clean(name, payload)
    if transport is not None and transport not in Transport.values:
        raise ApplicationError(f"Unknown transport {transport!r}.", {"transport": [f"One of {Transport.values}."]})
    deadline = timedelta(seconds=deadline_seconds) if deadline_seconds else operation_kind.deadline
    if deadline <= timedelta(0) or deadline > MAX_DEADLINE:
        raise ApplicationError("The deadline is 1 s to 30 days away.", {"deadline_seconds": ["Out of range."]})
    if heartbeat_seconds is not None and heartbeat_seconds <= 0:
        raise ApplicationError("The heartbeat is a positive number of seconds.", {"heartbeat_seconds": ["> 0"]})
    return OperationRequest(
        kind=operation_kind,
        name=wire_name,
        payload=clean_payload,
        transport=Transport(transport) if transport else None,
        deadline=deadline,
        heartbeat_seconds=heartbeat_seconds if heartbeat_seconds is not None else operation_kind.heartbeat_seconds,
    )


def supersede_open(*, devices: Iterable[int], kind: str, by: str, now: datetime) -> int:
    """Close the devices' open operations of ``kind``: a newer one replaces them."""
    return DeviceOperation.objects.filter(device_id__in=list(devices), kind=kind, status__in=OPEN_STATUSES).update(
        status=OperationStatus.SUPERSEDED,
        closed_on=now,
        history=history_append(step("superseded", {"by": by}, at=now)),
    )


def _new_operation(
    request: OperationRequest, *, device: Device, user: Any, batch: uuid.UUID | None, now: datetime, first_step: str
) -> DeviceOperation:
    # Callers select_related("presence"); a device never heard from has none.
    presence = getattr(device, "presence", None)
    transport = request.transport or (Transport(presence.transport) if presence and presence.transport else None)
    transport = transport or request.kind.default_transport
    assert device.org_id is not None, "operations_create checks the device is claimed"
    operation = DeviceOperation(
        id=uuid.uuid4(),
        device=device,
        org_id=device.org_id,
        kind=request.kind.name,
        name=request.name,
        payload=request.payload,
        transport=transport,
        deadline=now + request.deadline,
        heartbeat_seconds=request.heartbeat_seconds,
        batch=batch,
        created_on=now,
        created_by=user,
    )
    operation.history = [step(first_step, {"transport": transport}, at=now)]
    return operation


@transaction.atomic
def operations_create(
    *, user: Any, devices: Sequence[Device], request: OperationRequest, batch: uuid.UUID | None = None
) -> list[DeviceOperation]:
    """One operation per device (all or none), checked against the user's right to operate the devices of each
    device's organisation (and the kind's own permission, if it names one); a kind that supersedes closes the
    devices' open operations of that kind first. Sending is queued after the commit. Operations for several devices
    share a batch (``batch``, or a new one)."""
    if not devices:
        raise ApplicationError("No device to send it to.", {"device": ["No device in the project or fleet."]})
    if len(devices) > MAX_OPERATIONS_PER_REQUEST:
        raise ApplicationError(f"At most {MAX_OPERATIONS_PER_REQUEST} devices per request.")
    now = timezone.now()
    batch = batch or (uuid.uuid4() if len(devices) > 1 else None)
    operations = []
    allowed: dict[Any, bool] = {}
    for device in devices:
        if device.org_id is None or device.project_id is None:
            raise ApplicationError(f"{device.slug} is not claimed.", {"device": ["Not claimed."]})
        operation = _new_operation(request, device=device, user=user, batch=batch, now=now, first_step="created")
        if device.org_id not in allowed:
            allowed[device.org_id] = user_can_create(user, operation) and (
                request.kind.permission is None or user_has_org_permission(user, device.org, request.kind.permission)
            )
        if not allowed[device.org_id]:
            raise PermissionDeniedError("You may not send operations to this device.")
        operations.append(operation)
    if request.kind.supersedes:
        supersede_open(
            devices=[d.pk for d in devices], kind=request.kind.name, by=str(batch or operations[0].id), now=now
        )
    created = DeviceOperation.objects.bulk_create(operations)
    operations_send_later(created)
    return created


def operation_create(*, user: Any, device: Device, request: OperationRequest) -> DeviceOperation:
    return operations_create(user=user, devices=[device], request=request)[0]


# Sending -------------------------------------------------------------------------------------------------------------


def operations_mark_sent(*, operation_ids: Sequence[uuid.UUID], detail: dict[str, Any] | None = None) -> int:
    """PENDING → SENT for the ones still pending (a canceled one stays canceled); one UPDATE."""
    now = timezone.now()
    return DeviceOperation.objects.filter(id__in=list(operation_ids), status=OperationStatus.PENDING).update(
        status=OperationStatus.SENT,
        attempts=F("attempts") + 1,
        sent_on=now,
        # NULL without a heartbeat.
        heartbeat_due=RawSQL("%s + heartbeat_seconds * interval '1 second'", (now,)),
        history=history_append(step("sent", detail, at=now)),
    )


def operations_send(*, operation_ids: Sequence[str | uuid.UUID]) -> int:
    """Deliver the still pending operations among ``operation_ids`` over their transports, a batch per transport.

    They are marked SENT first, so a reply that comes back at once finds them sent; what a transport could not
    hand over ends FAILED with its reason. When a transport cannot be reached at all (a broker or a store outage) they
    go back to PENDING, with the failed attempt in their history, and the error goes up for the worker to retry."""
    with transaction.atomic():
        operations = list(
            DeviceOperation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(id__in=list(operation_ids), status=OperationStatus.PENDING, ready=True)
            .exclude(transport=Transport.HTTP)
            .select_related("device")
            .order_by("id")
        )
        by_transport: dict[str, list[DeviceOperation]] = {}
        for operation in operations:
            by_transport.setdefault(operation.transport, []).append(operation)
        for transport, batch in by_transport.items():
            operations_mark_sent(operation_ids=[op.id for op in batch], detail={"via": transport})
    sent = 0
    for transport, batch in by_transport.items():
        ids = [op.id for op in batch]
        try:
            failed = get_transport(transport).deliver(batch) or {}
        except ConnectionError as exc:
            _back_to_pending(operation_ids=ids, error=str(exc))
            raise
        for operation_id, error in failed.items():
            operations_fail(operation_ids=[operation_id], error=error, step_name="not sent")
        sent += len(ids) - len(failed)
    return sent


def _back_to_pending(*, operation_ids: Sequence[uuid.UUID], error: str) -> None:
    now = timezone.now()
    DeviceOperation.objects.filter(id__in=list(operation_ids), status=OperationStatus.SENT).update(
        status=OperationStatus.PENDING,
        heartbeat_due=None,
        history=history_append(step("not delivered", {"error": error, "next": "retry"}, at=now)),
    )


def operations_fail(*, operation_ids: Sequence[uuid.UUID], error: str, step_name: str = "failed") -> int:
    """Close open operations as FAILED with ``error``."""
    now = timezone.now()
    return DeviceOperation.objects.filter(id__in=list(operation_ids), status__in=OPEN_STATUSES).update(
        status=OperationStatus.FAILED,
        closed_on=now,
        error=error,
        history=history_append(step(step_name, {"error": error}, at=now)),
    )


def operations_note(*, operation_ids: Sequence[uuid.UUID], entry: dict[str, Any]) -> int:
    """Append a step to open operations' histories without changing their status."""
    return DeviceOperation.objects.filter(id__in=list(operation_ids), status__in=OPEN_STATUSES).update(
        history=history_append(entry)
    )


@transaction.atomic
def operations_poll(*, device: Device, limit: int = 50) -> list[DeviceOperation]:
    """The device's pending HTTP operations, oldest first, marked SENT: what its poll answers. Rows another poll
    holds are skipped, so two polls never hand out the same operation."""
    timezone.now()
    operations = list(
        DeviceOperation.objects.select_for_update(skip_locked=True)
        .filter(device=device, transport=Transport.HTTP, status=OperationStatus.PENDING, ready=True)
        .order_by("created_on", "id")[:limit]
    )
    if operations:
        operations_mark_sent(operation_ids=[op.id for op in operations], detail={"via": "poll"})
        for operation in operations:
            operation.status = OperationStatus.SENT
    return operations


# Replies -------------------------------------------------------------------------------------------------------------

RECORDED = "recorded"
PROGRESS = "progress"
DUPLICATE = "duplicate"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReplyOutcome:
    outcome: str  # RECORDED, PROGRESS, DUPLICATE or UNKNOWN
    operation: DeviceOperation | None = None


@transaction.atomic
def operation_replies_record(
    *, replies: Sequence[tuple[int, Reply]], transport: Transport, now: datetime | None = None
) -> list[ReplyOutcome]:
    """Record replies, each ``(device id, reply)``, in one transaction: the operations they name are locked and
    read in one query and written back in one. A reply names an operation of its own device by its id; one that
    names no open operation of that device changes nothing and is logged (unknown id, another device's operation,
    or an operation already closed: a duplicate)."""
    now = now or timezone.now()
    ids = {reply.operation_id for _, reply in replies if reply.operation_id is not None}
    operations = {op.id: op for op in DeviceOperation.objects.select_for_update().filter(id__in=ids).order_by("id")}
    outcomes: list[ReplyOutcome] = []
    changed: dict[uuid.UUID, DeviceOperation] = {}
    new_steps: dict[uuid.UUID, list[dict[str, Any]]] = {}
    before: dict[uuid.UUID, DeviceOperation] = {}
    for device_id, reply in replies:
        operation = operations.get(reply.operation_id) if reply.operation_id else None
        if operation is None or operation.device_id != device_id:
            logger.warning("reply for unknown operation %r from device %s ignored", reply.raw_id, device_id)
            outcomes.append(ReplyOutcome(UNKNOWN))
            continue
        if not operation.is_open:
            logger.warning(
                "reply %s for operation %s, already %s, ignored", reply.status, operation.id, operation.status
            )
            outcomes.append(ReplyOutcome(DUPLICATE, operation))
            continue
        outcome = get_kind(operation.kind).reply_outcome(reply.status, reply.value, reply.error)
        before.setdefault(operation.id, copy.copy(operation))
        detail = {"status": reply.status, "via": transport.value}
        if outcome.status is None:
            if outcome.result is not None:  # the latest progress the device reported (a Kanto feedback)
                operation.result = outcome.result
            if operation.heartbeat_seconds:
                operation.heartbeat_due = now + timedelta(seconds=operation.heartbeat_seconds)
            new_steps.setdefault(operation.id, []).append(step("progress", detail, at=now))
            outcomes.append(ReplyOutcome(PROGRESS, operation))
        else:
            if outcome.error:
                detail["error"] = outcome.error
            operation.status = outcome.status
            operation.result = outcome.result
            operation.error = outcome.error
            operation.closed_on = now
            new_steps.setdefault(operation.id, []).append(step("replied", detail, at=now))
            outcomes.append(ReplyOutcome(RECORDED, operation))
        operation.history = [*operation.history, new_steps[operation.id][-1]]
        changed[operation.id] = operation
    if changed:
        _replies_write(list(changed.values()), new_steps)
        # The device made these changes, whichever transport carried its replies.
        audit_changes_record(changed=[(before[key], op, op.device_id) for key, op in changed.items()])
    return outcomes


# One statement for the whole batch: the rows' new values side by side, the steps appended to each history.
_REPLIES_WRITE = """
UPDATE operation_deviceoperation AS op SET
    status = v.status, result = v.result, error = v.error, closed_on = v.closed_on,
    heartbeat_due = v.heartbeat_due, history = op.history || v.steps
FROM unnest(%s::uuid[], %s::varchar[], %s::jsonb[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::jsonb[])
    AS v(id, status, result, error, closed_on, heartbeat_due, steps)
WHERE op.id = v.id
"""


def _json_or_null(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _replies_write(operations: list[DeviceOperation], new_steps: dict[uuid.UUID, list[dict[str, Any]]]) -> None:
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
    for op in operations:
        values = (
            str(op.id),
            op.status,
            _json_or_null(op.result),
            op.error,
            op.closed_on,
            op.heartbeat_due,
            json.dumps(new_steps[op.id]),
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_REPLIES_WRITE, list(columns))


# Cancel, time out ----------------------------------------------------------------------------------------------------


@transaction.atomic
def operation_cancel(*, user: Any, operation: DeviceOperation) -> DeviceOperation:
    """Cancel an open operation (409 once it is closed). A device that already received it may still answer: the
    answer is then a duplicate. A kind with a ``cancel_kind`` (file uploads) also tells the device, with an
    operation of that kind over the same transport."""
    now = timezone.now()
    detail = {"by": getattr(user, "username", "")}
    updated = DeviceOperation.objects.filter(pk=operation.pk, status__in=OPEN_STATUSES).update(
        status=OperationStatus.CANCELED, closed_on=now, history=history_append(step("canceled", detail, at=now))
    )
    operation.refresh_from_db()
    if not updated:
        raise ConflictError(f"The operation is already {operation.get_status_display().lower()}.")
    kind = get_kind(operation.kind)
    if kind.cancel_kind and kind.cancel_payload is not None and operation.transport != Transport.STORE:
        _cancel_notice_send(operation, get_kind(kind.cancel_kind), kind.cancel_payload(operation), user, now)
    return operation


def _cancel_notice_send(
    operation: DeviceOperation, kind: OperationKind, payload: dict[str, Any], user: Any, now: datetime
) -> None:
    notice = DeviceOperation.objects.create(
        id=uuid.uuid4(),
        device_id=operation.device_id,
        org_id=operation.org_id,
        kind=kind.name,
        name="cancel",
        payload=payload,
        transport=operation.transport,
        deadline=now + kind.deadline,
        created_on=now,
        created_by=user if getattr(user, "pk", None) else None,
        history=[step("created", {"transport": operation.transport, "cancels": str(operation.id)}, at=now)],
    )
    operations_send_later([notice])


def operations_close_overdue(*, now: datetime | None = None) -> int:
    """TIMED_OUT for every open operation past its deadline, or sent with a heartbeat the device did not keep; one
    UPDATE, so no row is left open however many there are."""
    now = now or timezone.now()
    overdue = DeviceOperation.objects.filter(status__in=OPEN_STATUSES).filter(
        Q(deadline__lte=now) | Q(heartbeat_due__lte=now)
    )
    count = overdue.update(
        status=OperationStatus.TIMED_OUT,
        closed_on=now,
        error="No reply before the deadline or the heartbeat.",
        history=history_append(step("timed out", at=now)),
    )
    if count:
        logger.info("closed %d overdue operations", count)
    return count
