"""The PostgreSQL transport: claims, leases, delays, SKIP LOCKED, depth."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import psycopg2
import pytest
from django.db import connections
from django.db.models.functions import Now
from django.utils import timezone

from server.apps.worker.identity import worker_host_prefix, worker_identity
from server.apps.worker.models import QueueMessage
from server.apps.worker.transports.postgres import CLAIM_SQL


def _make_visible(**filters) -> None:
    """Let time pass for these messages: their delay or lease has run out."""
    QueueMessage.objects.filter(**filters).update(available_at=Now() - timedelta(seconds=1))


def test_send_receive_ack(db, transport):
    message_id = transport.send("test.RecordCall", {"log": "x"})
    [message] = transport.receive(worker_id="w1")
    assert (message.id, message.action, message.arguments, message.attempt, message.queue) == (
        message_id,
        "test.RecordCall",
        {"log": "x"},
        1,
        "default",
    )
    assert transport.receive() == []  # invisible while it runs
    row = QueueMessage.objects.get()
    assert row.claimed_by == "w1"
    assert timezone.now() < row.available_at <= timezone.now() + timedelta(seconds=transport.lease_seconds)
    assert transport.ack(message) is True
    assert not QueueMessage.objects.exists()


def test_messages_come_in_order_and_per_queue(db, transport):
    first = transport.send("a", {})
    second = transport.send("b", {})
    other = transport.send("c", {}, queue="reports")
    assert [m.id for m in transport.receive(max_messages=5)] == [first, second]
    assert [m.id for m in transport.receive(queue="reports", max_messages=5)] == [other]


def test_a_delayed_message_is_not_delivered_early(db, transport):
    transport.send("test.RecordCall", {"log": "x"}, delay=60)
    assert transport.receive() == []
    assert transport.depth().delayed == 1
    _make_visible()
    assert [m.action for m in transport.receive()] == ["test.RecordCall"]


def test_a_crashed_workers_message_comes_back(db, transport):
    transport.send("test.RecordCall", {"log": "x"})
    [first] = transport.receive(worker_id="crashed")
    assert transport.receive() == []
    _make_visible()  # the lease ran out; "crashed" never acknowledged nor renewed it
    [second] = transport.receive(worker_id="healthy")
    assert (second.id, second.attempt) == (first.id, 2)
    assert second.receipt != first.receipt
    assert transport.ack(first) is False  # the old delivery no longer owns it
    assert transport.ack(second) is True


def _ended_process_id() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_leases_of_a_worker_that_died_on_this_host_are_handed_back_at_once(db, transport):
    here = worker_host_prefix()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as running:
        holders = {
            "dead": f"{here}{_ended_process_id()}:a1b2c3",
            "running": f"{here}{running.pid}:d4e5f6",
            "this process": worker_identity(),
            "another host": f"elsewhere.example:{here.split(':')[1]}:{_ended_process_id()}:a1b2c3",
            "another namespace": f"{socket.gethostname()}:1:{_ended_process_id()}:a1b2c3",
            "another shape": "w1",
        }
        for holder in holders.values():
            transport.send("test.RecordCall", {"log": holder})
            transport.receive(worker_id=holder)
        assert transport.release_abandoned(worker_id=worker_identity()) == 1
        running.kill()
    [again] = transport.receive(worker_id="healthy")
    # A delivery all the same: the dead worker's attempt counts towards the action's limit.
    assert (again.arguments["log"], again.attempt) == (holders["dead"], 2)
    assert transport.receive(worker_id="healthy") == []  # the others keep their leases
    assert QueueMessage.objects.filter(receipt__isnull=False).count() == len(holders)
    assert transport.release_abandoned(worker_id=worker_identity()) == 1  # "running" has ended meanwhile


def test_retry_hides_the_message_for_the_delay(db, transport):
    transport.send("a", {})
    [message] = transport.receive()
    transport.retry(message, delay=300)
    assert transport.receive() == []
    depth = transport.depth()
    assert (depth.ready, depth.in_flight, depth.delayed) == (0, 0, 1)
    assert QueueMessage.objects.get().available_at > timezone.now() + timedelta(seconds=200)
    _make_visible()
    [again] = transport.receive()
    assert again.attempt == 2


def test_renew_keeps_the_messages_of_this_delivery_hidden(db, transport):
    transport.send("a", {})
    transport.send("b", {})
    first, second = transport.receive(max_messages=2)
    stale = dataclasses.replace(second, receipt=str(uuid.uuid4()))  # an earlier delivery's receipt
    transport.renew([first, stale], seconds=7200)
    available = dict(QueueMessage.objects.values_list("action", "available_at"))
    assert available["a"] > timezone.now() + timedelta(hours=1)
    assert available["b"] <= timezone.now() + timedelta(seconds=transport.lease_seconds)


def test_depth_counts_ready_running_and_delayed(db, transport):
    transport.send("a", {})
    transport.send("b", {})
    transport.send("c", {}, delay=600)
    transport.receive()
    depth = transport.depth()
    assert (depth.ready, depth.in_flight, depth.delayed, depth.total) == (1, 1, 1, 3)


def test_receive_waits_then_returns_nothing(db, transport):
    transport.poll_interval = 0.05
    assert transport.receive(wait=0.2) == []
    assert transport.receive(wait=5, should_stop=lambda: True) == []


def test_concurrent_receivers_skip_each_others_locked_messages(transactional_db, transport):
    first = transport.send("a", {})
    second = transport.send("b", {})
    config = connections["default"].get_connection_params()
    other = psycopg2.connect(**config)
    try:
        with other.cursor() as cursor:
            # Another worker is in the middle of claiming the first message and holds its row lock.
            cursor.execute(CLAIM_SQL, {"lease": 30, "worker_id": "other", "queue": "default", "limit": 1})
            assert cursor.fetchone()[0] == int(first)
            with connections["default"].cursor() as ours:
                ours.execute("SET lock_timeout = '10s'")  # without SKIP LOCKED this would wait, then fail
            claimed = transport.receive(max_messages=5)
            assert [m.id for m in claimed] == [second]
        other.commit()
    finally:
        other.close()
        with connections["default"].cursor() as ours:
            ours.execute("RESET lock_timeout")
    assert transport.receive(max_messages=5) == []


@pytest.mark.parametrize("delay", [0, -5])
def test_no_delay_means_now(db, transport, delay):
    transport.send("a", {}, delay=delay)
    assert len(transport.receive()) == 1


def test_release_hands_back_without_counting_the_delivery(db, transport):
    transport.send("a", {})
    [message] = transport.receive()
    transport.release(message)
    [again] = transport.receive()
    assert again.attempt == 1


def _send_from_another_connection(transport, delay: float, **kwargs) -> threading.Thread:
    """Send a message ``delay`` seconds from now on another thread (its own connection, committed at once)."""

    def send() -> None:
        time.sleep(delay)
        try:
            transport.send("late", {}, **kwargs)
        finally:
            connections.close_all()

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_an_idle_receiver_is_woken_by_the_notify_of_a_new_message(transactional_db, transport):
    transport.poll_interval = 60  # longer than the wait: only the NOTIFY can bring the message in time
    sender = _send_from_another_connection(transport, 0.3)
    messages = transport.receive(wait=30)
    sender.join()
    assert [message.action for message in messages] == ["late"]


def test_a_notify_for_another_queue_does_not_end_the_wait_early(transactional_db, transport):
    transport.poll_interval = 60
    sender = _send_from_another_connection(transport, 0.1, queue="other")
    assert transport.receive(wait=1) == []
    sender.join()
    assert transport.depth(queue="other").ready == 1


def test_an_idle_receiver_wakes_when_a_delayed_message_comes_due(transactional_db, transport):
    transport.poll_interval = 60
    transport.send("later", {}, delay=1)
    messages = transport.receive(wait=30)
    assert [message.action for message in messages] == ["later"]
