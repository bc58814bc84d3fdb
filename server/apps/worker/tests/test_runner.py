"""The worker loop, through the real PostgreSQL transport: enqueue, then run the loop in-process."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from itertools import pairwise

import pytest
from django.db import OperationalError
from django.db.models.functions import Now
from django.utils import timezone

from server.apps.core.errors import ApplicationError
from server.apps.core.testing import assert_query_count
from server.apps.worker.identity import worker_host_prefix
from server.apps.worker.models import DeadLetter, QueueMessage, WorkerRun, WorkerRunStatus
from server.apps.worker.queue import enqueue
from server.apps.worker.runner import Worker, run_worker
from server.apps.worker.services import dead_letter_requeue
from server.apps.worker.tests.actions import (
    AlwaysRetriable,
    BadInput,
    Batched,
    Buggy,
    RecordCall,
    SlowBackoff,
    TooSlow,
)


def _statuses(action: str) -> list[str]:
    return list(WorkerRun.objects.filter(action=action).order_by("id").values_list("status", flat=True))


def test_a_scheduled_action_runs_and_is_logged(transactional_db, transport, call_log):
    enqueue(RecordCall.name, {"log": str(call_log), "value": "one"})
    enqueue(RecordCall.name, {"log": str(call_log), "value": "two"})
    stats = run_worker(burst=True)
    assert call_log.read_text() == "one\ntwo\n"
    assert (stats.received, stats.succeeded, stats.retried, stats.dead, stats.errors) == (2, 2, 0, 0, 0)
    assert not QueueMessage.objects.exists()
    run = WorkerRun.objects.order_by("id").first()
    assert (run.action, run.status, run.attempt, run.error) == ("test.RecordCall", "success", 1, "")
    assert run.arguments == {"log": str(call_log), "value": "one"}
    assert run.duration >= 0
    assert run.pid > 0
    assert run.worker_id
    assert run.started_at <= timezone.now()


def test_retriable_failures_back_off_then_become_a_dead_letter(db, transport):
    message_id = enqueue(AlwaysRetriable.name)
    stats = run_worker(burst=True)  # backoff 0: every retry is available at once
    assert (stats.received, stats.retried, stats.dead) == (3, 2, 1)
    assert _statuses("test.AlwaysRetriable") == ["retry", "retry", "dead"]
    letter = DeadLetter.objects.get()
    assert (letter.action, letter.attempts, letter.message_id) == ("test.AlwaysRetriable", 3, message_id)
    assert "RetriableError: the service is busy (after 3 attempts)" in letter.error
    assert "raise RetriableError" in letter.traceback
    assert not QueueMessage.objects.exists()


def test_a_retry_waits_for_its_backoff(db, transport):
    enqueue(SlowBackoff.name)
    stats = run_worker(burst=True)
    assert (stats.received, stats.retried) == (1, 1)  # the retry is not available yet, so the burst ends
    message = QueueMessage.objects.get()
    assert message.attempts == 1
    assert message.available_at > timezone.now() + timedelta(seconds=300)  # backoff 600 s
    assert WorkerRun.objects.get().error == "ConnectionError: the service went away"


def test_a_retriable_error_may_name_its_own_delay(db, transport):
    enqueue(AlwaysRetriable.name, {"delay": 3600})
    run_worker(burst=True)
    assert QueueMessage.objects.get().available_at > timezone.now() + timedelta(minutes=50)


@pytest.mark.parametrize(("action", "error"), [(BadInput, "PermanentError: the report is truncated"), (Buggy, "a bug")])
def test_a_permanent_error_is_dead_at_once(db, transport, action, error):
    enqueue(action.name)
    stats = run_worker(burst=True)
    assert (stats.received, stats.retried, stats.dead) == (1, 0, 1)
    assert _statuses(action.name) == [WorkerRunStatus.FAILED]
    letter = DeadLetter.objects.get()
    assert error in letter.error
    assert letter.attempts == 1
    assert "def execute" in letter.traceback or "execute" in letter.traceback


def test_an_unknown_action_is_a_dead_letter_and_nothing_is_imported(db, transport):
    transport.send("os.system", {"command": "echo hi"})
    stats = run_worker(burst=True)
    assert stats.dead == 1
    letter = DeadLetter.objects.get()
    assert (letter.action, letter.error) == ("os.system", "unknown action 'os.system'")
    assert _statuses("os.system") == ["dead"]
    assert not QueueMessage.objects.exists()


def test_arguments_that_do_not_fit_are_a_dead_letter(db, transport):
    transport.send("test.RecordCall", {"value": 1})  # no "log"
    run_worker(burst=True)
    assert "missing arguments ['log']" in DeadLetter.objects.get().error
    assert _statuses("test.RecordCall") == ["failed"]


def test_a_timeout_is_retried(db, transport):
    enqueue(TooSlow.name)
    stats = run_worker(burst=True)
    assert (stats.received, stats.retried, stats.dead) == (2, 1, 1)
    assert _statuses("test.TooSlow") == ["retry", "dead"]
    assert "test.TooSlow ran longer than 0.2 s" in WorkerRun.objects.order_by("id").first().error


def test_a_message_whose_workers_keep_dying_is_given_up(db, transport, call_log):
    enqueue(RecordCall.name, {"log": str(call_log)})
    # Three workers claimed it and died before reporting back (max_attempts is 3).
    QueueMessage.objects.update(attempts=3)
    stats = run_worker(burst=True)
    assert stats.dead == 1
    assert not call_log.exists()
    assert "delivered 4 times without finishing" in DeadLetter.objects.get().error


def test_a_starting_worker_runs_at_once_what_a_worker_that_died_here_held(db, transport, call_log):
    enqueue(RecordCall.name, {"log": str(call_log)})
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    transport.receive(worker_id=f"{worker_host_prefix()}{ended.pid}:a1b2c3")  # its lease has 30 s to run
    stats = run_worker(burst=True)
    assert (stats.received, stats.succeeded) == (1, 1)
    assert call_log.read_text() == "\n"
    assert WorkerRun.objects.get().attempt == 2


def test_max_messages_and_once(db, transport, call_log):
    for value in range(3):
        enqueue(RecordCall.name, {"log": str(call_log), "value": value})
    assert run_worker(max_messages=2, wait=0).received == 2
    assert run_worker(once=True, wait=0).received == 1
    assert call_log.read_text() == "0\n1\n2\n"
    assert run_worker(once=True, wait=0).received == 0


def test_a_stop_request_finishes_the_current_message_and_leaves_the_rest(db, transport, call_log):
    for value in range(3):
        enqueue(RecordCall.name, {"log": str(call_log), "value": value})
    worker = Worker(batch_size=2, wait=0)
    original = RecordCall.execute

    def execute_then_stop(self, arguments):
        original(self, arguments)
        worker.request_stop()

    RecordCall.execute = execute_then_stop
    try:
        stats = worker.run()
    finally:
        RecordCall.execute = original
    assert stats.received == 1
    assert call_log.read_text() == "0\n"
    # The second message of the batch went straight back, its delivery uncounted; nothing is lost.
    assert list(QueueMessage.objects.filter(available_at__lte=Now()).values_list("attempts", flat=True)) == [0, 0]


def test_the_worker_keeps_running_when_logging_fails(db, transport, call_log, monkeypatch):
    enqueue(RecordCall.name, {"log": str(call_log), "value": "a"})
    enqueue(RecordCall.name, {"log": str(call_log), "value": "b"})

    def broken(**kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr("server.apps.worker.runner.worker_run_record", broken)
    stats = run_worker(burst=True)
    assert (stats.received, stats.succeeded, stats.errors) == (2, 2, 2)
    assert call_log.read_text() == "a\nb\n"


def test_query_count_per_message(db, transport, call_log):
    enqueue(RecordCall.name, {"log": str(call_log)})
    # at start, the leases held by this host's workers (none dead: no update); then claim, acknowledge (delete), log
    # the run, and the empty claim that ends the burst
    with assert_query_count(5):
        run_worker(burst=True)


def test_a_dead_letter_can_be_requeued_once(db, transport, call_log):
    transport.send("test.RecordCall", {"log": str(call_log), "value": "late"})
    QueueMessage.objects.update(attempts=5)
    run_worker(burst=True)
    letter = DeadLetter.objects.get()
    dead_letter_requeue(dead_letter=letter)
    run_worker(burst=True)
    assert call_log.read_text() == "late\n"
    letter.refresh_from_db()
    assert letter.requeued_at is not None
    with pytest.raises(ApplicationError, match="already requeued"):
        dead_letter_requeue(dead_letter=letter)


def test_a_dead_letter_of_an_unknown_action_cannot_be_requeued(db, transport):
    transport.send("gone.Action", {})
    run_worker(burst=True)
    with pytest.raises(ApplicationError, match="no action is registered"):
        dead_letter_requeue(dead_letter=DeadLetter.objects.get())


# Batched actions


def _batched(call_log, value: str, outcome: str = "ok") -> str:
    return enqueue(Batched.name, {"log": str(call_log), "value": value, "outcome": outcome})


def test_a_batched_action_gets_the_messages_of_one_receive_together(db, transport, call_log):
    for value in "abc":
        _batched(call_log, value)
    enqueue(RecordCall.name, {"log": str(call_log), "value": "single"})
    stats = run_worker(burst=True, batch_size=10)
    # The other action's message goes first, on its own; the batched ones arrive as one batch.
    assert call_log.read_text() == "single\na,b,c\n"
    assert (stats.received, stats.succeeded, stats.retried, stats.dead) == (4, 4, 0, 0)
    assert not QueueMessage.objects.exists()
    runs = list(WorkerRun.objects.filter(action="test.Batched").order_by("id"))
    # Settled last first, each logged as its outcome arrived, the runs one after another.
    assert [run.arguments["value"] for run in runs] == ["c", "b", "a"]
    assert all(run.status == "success" for run in runs)
    for earlier, later in pairwise(runs):
        assert later.started_at >= earlier.started_at


def test_a_batch_of_one_receive_at_a_time(db, transport, call_log):
    for value in "abc":
        _batched(call_log, value)
    run_worker(burst=True, batch_size=2)
    assert call_log.read_text() == "a,b\nc\n"


def test_each_message_of_a_batch_gets_its_own_outcome(db, transport, call_log):
    _batched(call_log, "a")
    _batched(call_log, "b", "retry")
    _batched(call_log, "c", "bad")
    stats = run_worker(burst=True, batch_size=10)
    # b is retried (once: max_attempts 2), then dead; c is dead at once; a succeeds.
    assert (stats.succeeded, stats.retried, stats.dead) == (1, 1, 2)
    assert call_log.read_text() == "a,b,c\nb\n"
    letters = {letter.arguments["value"]: letter.error for letter in DeadLetter.objects.all()}
    assert letters == {"c": "PermanentError: bad input", "b": "RetriableError: try later (after 2 attempts)"}


def test_a_batch_that_breaks_retries_the_messages_it_did_not_settle(db, transport, call_log):
    _batched(call_log, "a")
    _batched(call_log, "b", "stop")
    _batched(call_log, "c")
    stats = run_worker(burst=True, batch_size=10, max_messages=3)
    # c was settled before the break; a and b had no outcome, and a ValueError is not retriable.
    assert (stats.succeeded, stats.dead) == (1, 2)
    assert sorted(DeadLetter.objects.values_list("arguments__value", "error")) == [
        ("a", "ValueError: the batch broke at b"),
        ("b", "ValueError: the batch broke at b"),
    ]
    assert "raise ValueError" in DeadLetter.objects.first().traceback


def test_a_batch_whose_retries_the_queue_cannot_take_leaves_them_to_their_leases(db, transport, call_log, monkeypatch):
    # The queue's database restarting as the batch ends: the worker logs it and goes on, and the messages it could not
    # hand back stay in the queue, delivered again once their leases run out.
    _batched(call_log, "a")
    _batched(call_log, "b", "hang")
    _batched(call_log, "c")

    def gone(self, message, delay):
        raise OperationalError("the queue's database is restarting")

    monkeypatch.setattr(type(transport), "retry", gone)
    stats = run_worker(burst=True, batch_size=10, max_messages=3)
    assert (stats.succeeded, stats.retried, stats.errors) == (1, 0, 2)
    assert sorted(QueueMessage.objects.values_list("arguments__value", flat=True)) == ["a", "b"]
    assert not WorkerRun.objects.exclude(status="success").exists()


def test_a_batch_out_of_time_retries_what_it_had_not_settled(db, transport, call_log):
    _batched(call_log, "a")
    _batched(call_log, "b", "hang")
    _batched(call_log, "c")
    stats = run_worker(burst=True, batch_size=10, max_messages=3)
    assert (stats.succeeded, stats.retried) == (1, 2)
    retried = QueueMessage.objects.order_by("id")
    assert [message.arguments["value"] for message in retried] == ["a", "b"]
    assert set(WorkerRun.objects.filter(status="retry").values_list("error", flat=True)) == {
        "ActionTimeoutError: test.Batched ran longer than 0.5 s"
    }
