"""What becomes of a delivered message: the worker's acknowledge, retry and dead-letter policy (docs/worker.md,
"Outcomes").

Decisions only, no I/O: the runner (``runner.py``) asks, then carries the answer out (the transport's ``ack`` or
``retry``, the dead letter, the run log). It asks twice:

- before running a message, :func:`admit`: a message that cannot run (unreadable, an unknown action, delivered more
  often than its action allows, arguments that do not fit) is refused, and its outcome is a dead letter;
- after running it, :func:`outcome`: success is acknowledged; a retriable error is retried with the action's
  backoff while attempts are left, then dead-lettered; any other error is dead-lettered at once.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from django.db import DatabaseError, OperationalError

from server.apps.worker.actions import (
    Action,
    ActionArgumentError,
    PermanentError,
    RetriableError,
)
from server.apps.worker.models import WorkerRunStatus
from server.apps.worker.transports import Message

# Kept on top of the actions' timeouts while a worker holds a receive's messages, so their leases cannot run out
# while the worker still records the outcomes.
HOLD_MARGIN_SECONDS = 60
DEAD_LETTER_STATUSES = frozenset({WorkerRunStatus.FAILED, WorkerRunStatus.DEAD})


@dataclass(frozen=True)
class Outcome:
    """What becomes of one delivery. ``status`` says it all: ``success`` is acknowledged, ``retry`` is delivered
    again after ``retry_delay`` seconds, ``failed`` and ``dead`` become a dead letter (with ``traceback`` when an
    exception caused it) and are acknowledged. ``error`` is what the run log and the dead letter say."""

    status: WorkerRunStatus
    error: str = ""
    traceback: str = ""
    retry_delay: float = 0.0

    @property
    def dead_letter(self) -> bool:
        return self.status in DEAD_LETTER_STATUSES


SUCCEEDED = Outcome(WorkerRunStatus.SUCCESS)


@dataclass(frozen=True)
class Admission:
    """Whether a delivered message may run: its checked ``arguments``, or the ``refusal`` that dead-letters it (and
    then no arguments)."""

    arguments: dict[str, Any] = field(default_factory=dict)
    refusal: Outcome | None = None


def admit(action: type[Action] | None, message: Message) -> Admission:
    """Check a delivered message before its action runs."""
    if message.error:
        return Admission(refusal=Outcome(WorkerRunStatus.DEAD, message.error))
    if action is None:
        return Admission(refusal=Outcome(WorkerRunStatus.DEAD, f"unknown action {message.action!r}"))
    if message.attempt > action.retry.max_attempts:
        # Earlier deliveries never reported back: the worker died or was killed while running them.
        reason = f"delivered {message.attempt} times without finishing (max_attempts={action.retry.max_attempts})"
        return Admission(refusal=Outcome(WorkerRunStatus.DEAD, reason))
    try:
        return Admission(arguments=action.check_arguments(message.arguments))
    except ActionArgumentError as exc:
        return Admission(refusal=Outcome(WorkerRunStatus.FAILED, str(exc)))


def hold_seconds(actions: Sequence[type[Action] | None]) -> float:
    """How long a worker may hold the messages of one receive (their leases renewed) before a stuck worker must give
    them up: the messages of a batched action run together under its timeout, the others one by one under each
    their own; ``actions`` has one entry per message (None for a message naming no action)."""
    batched = {action for action in actions if action is not None and action.batched}
    one_by_one = [action for action in actions if action is not None and not action.batched]
    timeouts = [action.timeout for action in batched] + [action.timeout for action in one_by_one]
    if None in timeouts:  # an action without a time limit: held as long as it runs
        return math.inf
    return sum(timeout for timeout in timeouts if timeout is not None) + HOLD_MARGIN_SECONDS


def _connection_lost(error: BaseException) -> bool:
    """A database error no server sent: every error of PostgreSQL carries a SQLSTATE, and psycopg2 reports a
    connection it finds broken while reading a result (a server restarting, its connections cut) as a plain
    ``DatabaseError`` without one, where it would otherwise raise an ``OperationalError``."""
    return (
        isinstance(error, DatabaseError) and isinstance(error.__cause__, psycopg2.Error) and not error.__cause__.pgcode
    )


def is_retriable(action: type[Action], error: BaseException) -> bool:
    """Whether another delivery may succeed where this one raised ``error`` (``Action.retriable_exceptions``; a lost
    database connection counts as the ``OperationalError`` it is)."""
    if isinstance(error, PermanentError | ActionArgumentError):
        return False
    if _connection_lost(error):
        return any(issubclass(OperationalError, kind) for kind in action.retriable_exceptions)
    return isinstance(error, action.retriable_exceptions)


def outcome(action: type[Action], message: Message, error: Exception | None) -> Outcome:
    """The outcome of running ``message``: ``error`` is what the action raised, None when it succeeded."""
    if error is None:
        return SUCCEEDED
    text = f"{type(error).__name__}: {error}"
    trace = "".join(traceback.format_exception(error))
    if not is_retriable(action, error):
        return Outcome(WorkerRunStatus.FAILED, text, trace)
    if message.attempt >= action.retry.max_attempts:
        return Outcome(WorkerRunStatus.DEAD, f"{text} (after {message.attempt} attempts)", trace)
    delay = error.delay if isinstance(error, RetriableError) else None
    return Outcome(WorkerRunStatus.RETRY, text, trace, action.retry.delay(message.attempt) if delay is None else delay)
