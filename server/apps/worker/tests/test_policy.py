"""The acknowledge / retry / dead-letter policy on its own: what it answers for each kind of delivery and error.
The runner carrying the answers out (transport, dead letters, run log) is tested in ``test_runner.py``."""

from __future__ import annotations

import psycopg2
import pytest
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.utils import DatabaseErrorWrapper

from server.apps.worker.actions import Action, ActionTimeoutError, PermanentError, RetriableError, RetryPolicy
from server.apps.worker.models import WorkerRunStatus
from server.apps.worker.policy import (
    HOLD_MARGIN_SECONDS,
    Admission,
    Outcome,
    admit,
    hold_seconds,
    is_retriable,
    outcome,
)
from server.apps.worker.transports import Message


class Plain(Action):
    """The defaults: a 300 s timeout, three attempts."""

    name = "Plain"
    required_arguments = ("report_id",)


class Patient(Plain):
    timeout = 900
    retry = RetryPolicy(max_attempts=3, backoff=10, factor=3, max_backoff=60)


def delivery(attempt: int = 1, arguments=None, error: str = "", action: str = "Plain") -> Message:
    arguments = {"report_id": 7} if arguments is None else arguments
    return Message(id="m-1", action=action, arguments=arguments, attempt=attempt, queue="default", receipt="r")


def test_a_message_that_fits_is_admitted_with_its_arguments():
    assert admit(Plain, delivery()) == Admission(arguments={"report_id": 7})


@pytest.mark.parametrize(
    ("action", "message", "status", "error"),
    [
        (Plain, Message("m", "Plain", {}, 1, "default", "r", error="unreadable body"), "dead", "unreadable body"),
        (None, delivery(action="Gone"), "dead", "unknown action 'Gone'"),
        (Patient, delivery(attempt=4), "dead", "delivered 4 times without finishing (max_attempts=3)"),
        (Plain, delivery(arguments={"report_id": 7, "extra": 1}), "failed", "unexpected arguments ['extra']"),
    ],
)
def test_a_message_that_cannot_run_is_refused_into_a_dead_letter(action, message, status, error):
    admission = admit(action, message)
    assert admission.arguments == {}
    assert admission.refusal.status == status
    assert error in admission.refusal.error
    assert admission.refusal.dead_letter


def test_success_is_acknowledged():
    assert outcome(Plain, delivery(), None) == Outcome(WorkerRunStatus.SUCCESS)
    assert not outcome(Plain, delivery(), None).dead_letter


def test_a_retriable_error_is_retried_with_the_backoff_then_dead_lettered():
    first = outcome(Patient, delivery(attempt=1), OperationalError("server closed the connection"))
    assert (first.status, first.retry_delay, first.dead_letter) == ("retry", 10, False)
    assert first.error == "OperationalError: server closed the connection"
    assert outcome(Patient, delivery(attempt=2), ConnectionError("gone")).retry_delay == 30
    last = outcome(Patient, delivery(attempt=3), ConnectionError("gone"))
    assert (last.status, last.error, last.dead_letter) == ("dead", "ConnectionError: gone (after 3 attempts)", True)
    assert "ConnectionError: gone" in last.traceback


def test_a_retriable_error_may_name_its_own_delay():
    assert outcome(Patient, delivery(), RetriableError("busy", delay=2.5)).retry_delay == 2.5
    assert outcome(Patient, delivery(), RetriableError("busy")).retry_delay == 10


@pytest.mark.parametrize("error", [PermanentError("bad input"), ValueError("a bug")])
def test_any_other_error_is_dead_lettered_at_once(error):
    result = outcome(Patient, delivery(attempt=1), error)
    assert (result.status, result.dead_letter, result.retry_delay) == ("failed", True, 0)
    assert result.error == f"{type(error).__name__}: {error}"
    assert type(error).__name__ in result.traceback


def test_what_is_retriable():
    assert is_retriable(Plain, RetriableError("busy"))
    assert is_retriable(Plain, ActionTimeoutError("slow"))
    assert is_retriable(Plain, ConnectionError("gone"))
    assert not is_retriable(Plain, PermanentError("bad input"))
    assert not is_retriable(Plain, ValueError("a bug"))


def _database_error(sql: str = "") -> DatabaseError:
    """The error Django raises for what psycopg2 raised: a statement's error, or (no SQL) a connection found broken
    while reading a result, which psycopg2 reports as a plain DatabaseError without a SQLSTATE."""
    try:
        with DatabaseErrorWrapper(connection):
            if sql:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql)
            raise psycopg2.DatabaseError("server closed the connection unexpectedly")
    except DatabaseError as error:
        return error
    raise AssertionError("no error")


class NotOnConnections(Plain):
    retriable_exceptions = (RetriableError,)


def test_a_lost_database_connection_is_retriable_as_an_operational_error(db):
    lost = _database_error()
    assert type(lost) is DatabaseError
    assert lost.__cause__.pgcode is None
    assert is_retriable(Plain, lost)
    assert outcome(Plain, delivery(attempt=1), lost).status == "retry"
    # A statement PostgreSQL refused has its SQLSTATE: not retried.
    refused = _database_error("SELECT 1 / 0")
    assert refused.__cause__.pgcode == "22012"
    assert not is_retriable(Plain, refused)
    # An action that retries no connection error does not retry this one either.
    assert not is_retriable(NotOnConnections, lost)


class Together(Plain):
    batched = True
    timeout = 100


class Unbounded(Plain):
    timeout = None


def test_a_receive_is_held_for_its_actions_time_limits():
    # One by one, each message under its own action's timeout; a batched action's messages under one.
    assert hold_seconds([Plain, Patient]) == 300 + 900 + HOLD_MARGIN_SECONDS
    assert hold_seconds([Together, Together, Together, Plain]) == 100 + 300 + HOLD_MARGIN_SECONDS
    assert hold_seconds([None]) == HOLD_MARGIN_SECONDS  # unknown: dead-lettered at once
    assert hold_seconds([Plain, Unbounded]) == float("inf")
