"""Writes of the worker: the run log, the dead letters, requeueing, and the log's retention."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from server.apps.core.errors import ApplicationError
from server.apps.worker.actions import get_action
from server.apps.worker.models import DeadLetter, WorkerRun
from server.apps.worker.transports import Message, get_transport


def worker_run_record(
    *,
    message: Message,
    status: str,
    started_at: datetime,
    duration: float,
    error: str = "",
    worker_id: str = "",
) -> WorkerRun:
    return WorkerRun.objects.create(
        action=message.action[:100],
        arguments=message.arguments,
        status=status,
        attempt=message.attempt,
        queue=message.queue,
        message_id=message.id[:128],
        started_at=started_at,
        duration=duration,
        error=error,
        worker_id=worker_id[:100],
        pid=os.getpid(),
    )


def dead_letter_create(*, message: Message, error: str, traceback: str = "") -> DeadLetter:
    return DeadLetter.objects.create(
        action=message.action[:100],
        arguments=message.arguments,
        queue=message.queue,
        message_id=message.id[:128],
        error=error,
        traceback=traceback,
        attempts=message.attempt,
    )


@transaction.atomic(durable=True)
def dead_letter_requeue(*, dead_letter: DeadLetter, delay: float = 0) -> str:
    """Send a dead letter's action again (after its cause is fixed). Returns the new message id."""
    dead_letter = DeadLetter.objects.select_for_update(no_key=True).get(pk=dead_letter.pk)
    if dead_letter.requeued_at is not None:
        raise ApplicationError("this dead letter was already requeued")
    action = get_action(dead_letter.action)
    if action is None:
        raise ApplicationError(f"no action is registered as {dead_letter.action!r}")
    arguments = action.check_arguments(dead_letter.arguments)
    dead_letter.requeued_at = timezone.now()
    dead_letter.save(update_fields=["requeued_at"])
    # Sent inside the transaction: on PostgreSQL the message commits with the mark, and on SQS a failure to send
    # leaves the dead letter unmarked.
    return get_transport().send(action.name, arguments, delay=delay, queue=action.queue)


def worker_runs_delete_older_than(*, days: int) -> int:
    """Drop run-log rows and requeued dead letters older than ``days``; returns how many rows went."""
    cutoff = timezone.now() - timedelta(days=days)
    runs, _ = WorkerRun.objects.filter(started_at__lt=cutoff).delete()
    letters, _ = DeadLetter.objects.filter(requeued_at__lt=cutoff).delete()
    return runs + letters
