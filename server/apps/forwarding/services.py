"""Writes on destinations and their outboxes: managing destinations (``can_manage_org_and_projects``), putting a
routed message in the outbox of each active destination, sending a destination's outbox in order, and replaying
dead letters."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.outbound import outbound_url_check
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.services import model_update
from server.apps.forwarding import delivery
from server.apps.forwarding.models import Delivery, DeliveryStatus, Destination, DestinationKind
from server.apps.stores.backends import store_names
from server.apps.worker.queue import enqueue, enqueue_on_commit

logger = logging.getLogger(__name__)

DESTINATION_FIELDS = (
    "name",
    "kind",
    "is_active",
    "url",
    "headers",
    "secret",
    "timeout",
    "store",
    "prefix",
    "max_attempts",
    "backoff",
)
# The longest wait between two attempts of one delivery.
MAX_BACKOFF_SECONDS = 3600.0
# Rows one run sends before it hands the rest of the outbox to the next run, so a run stays well inside its timeout.
DELIVERIES_PER_RUN = 500
# The first key of the advisory lock a destination's sender holds (the second is the destination's id).
_LOCK_CLASS = 0x46574400


def _check_manage(user, org) -> None:
    if not user_has_org_permission(user, org, permission_for(Destination, "add")):
        raise PermissionDeniedError("You may not manage forwarding destinations in this organisation.")


def _checked(destination: Destination) -> Destination:
    if destination.kind == DestinationKind.WEBHOOK and not destination.url:
        raise ApplicationError("A webhook needs a URL.", {"url": ["A webhook needs a URL."]})
    if destination.kind == DestinationKind.WEBHOOK:
        outbound_url_check(destination.url)
    if destination.kind == DestinationKind.FILE and destination.store not in store_names():
        raise ApplicationError(
            f"There is no store named '{destination.store}'.", {"store": [f"Known stores: {', '.join(store_names())}."]}
        )
    if not isinstance(destination.headers, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in destination.headers.items()
    ):
        raise ApplicationError("Headers are an object of text values.", {"headers": ["An object of text values."]})
    return destination


def _name_error(name: str) -> ConflictError:
    return ConflictError(
        f"The organisation already has a destination named '{name}'.",
        {"name": ["A destination with this name exists."]},
    )


@transaction.atomic
def destination_create(*, user, org, **fields: Any) -> Destination:
    _check_manage(user, org)
    destination = Destination(org=org, created_by=user)
    try:
        with transaction.atomic():
            model_update(_checked_fields(destination, fields), fields=DESTINATION_FIELDS, data=fields)
    except IntegrityError as exc:  # a concurrent destination of the same name
        raise _name_error(fields.get("name", "")) from exc
    return destination


def _checked_fields(destination: Destination, fields: dict[str, Any]) -> Destination:
    for name in DESTINATION_FIELDS:
        if name in fields:
            setattr(destination, name, fields[name])
    if Destination.objects.filter(org=destination.org, name=destination.name).exclude(pk=destination.pk).exists():
        raise _name_error(destination.name)
    return _checked(destination)


@transaction.atomic
def destination_update(*, user, destination: Destination, **fields: Any) -> Destination:
    _check_manage(user, destination.org)
    return model_update(_checked_fields(destination, fields), fields=DESTINATION_FIELDS, data=fields)


@transaction.atomic
def destination_delete(*, user, destination: Destination) -> None:
    """Delete the destination and its outbox; what was not delivered is not sent."""
    _check_manage(user, destination.org)
    destination.delete()


@transaction.atomic
def deliveries_create(*, messages: Sequence[Mapping[str, Any]]) -> int:
    """Put routed messages (IoTa's normalised shape: ``broker_correlation_id``, ``p_uid``, ``l_uid``, ``timestamp``,
    ``timeseries``, and the platform's ``org_id``) in the outbox of each active destination of their organisation,
    in the caller's transaction (telemetry's ingest calls it as a routed consumer), and have the worker send them
    once it commits. A message already in an outbox (the same correlation id) is not added again. Returns the
    number of rows added."""
    by_org: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for message in messages:
        by_org[str(message["org_id"])].append(message)
    destinations = Destination.objects.filter(org_id__in=list(by_org), is_active=True).values_list("id", "org_id")
    destination_ids, correlation_ids, bodies = [], [], []
    for destination_id, org_id in destinations:
        for message in by_org[str(org_id)]:
            destination_ids.append(destination_id)
            correlation_ids.append(str(message["broker_correlation_id"]))
            bodies.append(json.dumps(message))
    if not destination_ids:
        return 0
    with connection.cursor() as cursor:
        # One statement for the batch; a message already in an outbox is skipped by its unique key.
        cursor.execute(
            f"""INSERT INTO {Delivery._meta.db_table} (destination_id, correlation_id, message, status, attempts,
                    next_attempt_at, last_error, created_on)
                SELECT destination_id, correlation_id, message, %s, 0, now(), '', now()
                FROM unnest(%s::bigint[], %s::uuid[], %s::jsonb[]) WITH ORDINALITY
                    AS row (destination_id, correlation_id, message, ordinality)
                ORDER BY ordinality
                ON CONFLICT (destination_id, correlation_id) DO NOTHING RETURNING destination_id""",
            [DeliveryStatus.PENDING, destination_ids, correlation_ids, bodies],
        )
        added = [row[0] for row in cursor.fetchall()]
    for destination_id in sorted(set(added)):
        enqueue_on_commit("DeliverDestination", {"destination_id": destination_id})
    return len(added)


@contextmanager
def _sender_lock(destination_id: int) -> Iterator[bool]:
    """One sender per destination at a time, so its rows go out in order: a session-level advisory lock, which a
    sender that dies gives up with its connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, destination_id])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, destination_id])


@dataclass
class SendResult:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    # Seconds until the head of the outbox is due again, when a failure holds it back.
    retry_in: float | None = None
    # The run stopped at its budget with rows left.
    more: bool = False
    # Another sender held the destination.
    busy: bool = False


def _retry_delay(destination: Destination, attempts: int) -> float:
    return float(min(destination.backoff * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def _send_due(destination: Destination, result: SendResult, budget: int) -> None:
    """Send the outbox's due rows in id order until it is empty, a failure holds the head back, or ``budget`` runs
    out. Each row's outcome is committed on its own (autocommit), before the next row is sent."""
    while budget > 0:
        head = (
            Delivery.objects.filter(destination=destination, status=DeliveryStatus.PENDING)
            .order_by("id")
            .only("id", "correlation_id", "message", "attempts", "next_attempt_at")
            .first()
        )
        if head is None:
            return
        now = timezone.now()
        if head.next_attempt_at > now:
            result.retry_in = (head.next_attempt_at - now).total_seconds()
            return
        budget -= 1
        try:
            delivery.deliver(destination, head)
        except delivery.DeliveryError as exc:
            attempts = head.attempts + 1
            dead = exc.final or attempts >= destination.max_attempts
            delay = _retry_delay(destination, attempts)
            Delivery.objects.filter(pk=head.pk).update(
                attempts=attempts,
                last_error=str(exc)[:2000],
                last_attempt_at=now,
                status=DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING,
                next_attempt_at=now if dead else now + timedelta(seconds=delay),
            )
            logger.warning(
                "forwarding to destination %s failed (attempt %s%s): %s",
                destination.pk,
                attempts,
                ", dead letter" if dead else "",
                exc,
                extra={"correlation_id": str(head.correlation_id)},
            )
            if dead:
                result.dead += 1
                continue
            result.failed += 1
            result.retry_in = delay
            return
        _delivery_mark_delivered(head.pk, now)
        result.delivered += 1
    result.more = True


def _delivery_mark_delivered(delivery_id: int, attempted_at) -> None:
    Delivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.DELIVERED,
        attempts=F("attempts") + 1,
        last_attempt_at=attempted_at,
        delivered_on=timezone.now(),
        last_error="",
    )


def _has_due(destination_id: int) -> bool:
    head = (
        Delivery.objects.filter(destination_id=destination_id, status=DeliveryStatus.PENDING)
        .order_by("id")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return head is not None and head <= timezone.now()


def destination_send(*, destination_id: int, budget: int = DELIVERIES_PER_RUN) -> SendResult:
    """Send what is due in the destination's outbox, in order (the worker's ``DeliverDestination``). A failure puts
    the row back with a backoff and schedules the next run for when it is due; rows behind it wait, so the
    destination receives its messages in order. A sender already at work on the destination sees rows committed
    while it works, and checks once more after letting go, so no row is left without a run to send it."""
    result = SendResult()
    while True:
        destination = Destination.objects.filter(pk=destination_id, is_active=True).first()
        if destination is None:
            return result
        with _sender_lock(destination_id) as locked:
            if not locked:
                result.busy = True
                return result
            _send_due(destination, result, budget - result.delivered - result.dead - result.failed)
        if result.retry_in is not None or result.more or not _has_due(destination_id):
            break
    if result.more:
        enqueue("DeliverDestination", {"destination_id": destination_id})
    elif result.failed:
        # Only the run that saw the failure schedules the retry; the runs that find the head not yet due leave it.
        enqueue("DeliverDestination", {"destination_id": destination_id}, delay=result.retry_in or 0)
    return result


def destinations_sweep() -> int:
    """Give every active destination whose outbox has a due row a run (the scheduler's safety net for a run lost
    to a crashed worker). Returns the number of runs enqueued."""
    due = (
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now(), destination__is_active=True
        )
        .values_list("destination_id", flat=True)
        .distinct()
    )
    destination_ids = list(due)
    for destination_id in destination_ids:
        enqueue("DeliverDestination", {"destination_id": destination_id})
    return len(destination_ids)


@transaction.atomic(durable=True)
def deliveries_replay(*, user, destination: Destination, ids: list[int] | None = None) -> int:
    """Put the destination's dead letters (all, or those of ``ids``) back in its outbox with fresh attempts, and
    have the worker send them. Returns how many were put back."""
    _check_manage(user, destination.org)
    dead = Delivery.objects.filter(destination=destination, status=DeliveryStatus.DEAD)
    if ids is not None:
        dead = dead.filter(id__in=ids)
    replayed = dead.update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
    if replayed:
        enqueue_on_commit("DeliverDestination", {"destination_id": destination.pk})
    return replayed


def deliveries_delete_delivered(*, days: int) -> int:
    """Delete delivered rows delivered more than ``days`` ago; pending and dead rows stay until they are sent."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _by_model = Delivery.objects.filter(status=DeliveryStatus.DELIVERED, delivered_on__lt=cutoff).delete()
    return deleted
