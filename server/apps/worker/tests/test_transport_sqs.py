"""The SQS transport against a real moto_server process: the same boto3 calls as in production."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from server.apps.worker.models import DeadLetter, WorkerRun
from server.apps.worker.queue import enqueue, enqueue_on_commit
from server.apps.worker.runner import run_worker
from server.apps.worker.tests.actions import AlwaysRetriable, RecordCall
from server.apps.worker.transports import get_transport
from server.apps.worker.transports.sqs import SqsTransport


@pytest.fixture
def sqs(settings, moto_server, monkeypatch) -> SqsTransport:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_server.secret_key)
    name = f"worker-{uuid.uuid4().hex[:12]}"
    moto_server.client("sqs").create_queue(QueueName=name)
    settings.WORKER_QUEUE = "sqs"
    settings.WORKER_SQS_QUEUE_NAME = name
    settings.WORKER_SQS_ENDPOINT_URL = moto_server.endpoint_url
    settings.WORKER_SQS_REGION = moto_server.region
    transport = get_transport()
    assert isinstance(transport, SqsTransport)
    return transport


def test_send_receive_ack(sqs):
    message_id = sqs.send("test.RecordCall", {"log": "x"})
    [message] = sqs.receive(wait=1)
    assert (message.id, message.action, message.arguments, message.attempt) == (
        message_id,
        "test.RecordCall",
        {"log": "x"},
        1,
    )
    assert sqs.receive() == []  # in flight
    assert sqs.depth().in_flight == 1
    assert sqs.ack(message) is True
    assert sqs.depth().total == 0


def test_retry_makes_it_visible_again_with_the_next_attempt(sqs):
    sqs.send("a", {})
    [first] = sqs.receive(wait=1)
    sqs.retry(first, delay=0)
    [second] = sqs.receive(wait=1)
    assert (second.id, second.attempt) == (first.id, 2)


def test_retry_with_a_delay_and_renew_hide_the_message(sqs):
    sqs.send("a", {})
    [message] = sqs.receive(wait=1)
    sqs.renew([message], seconds=600)
    sqs.retry(message, delay=300)
    assert sqs.receive() == []
    assert sqs.depth().in_flight == 1


def test_a_lease_that_is_not_renewed_runs_out_and_a_renewed_one_does_not(settings, sqs):
    sqs.lease_seconds = 1
    sqs.send("kept", {})
    sqs.send("lost", {})
    messages = sqs.receive(max_messages=10, wait=1)
    while len(messages) < 2:
        messages += sqs.receive(max_messages=10, wait=1)
    kept = next(message for message in messages if message.action == "kept")
    sqs.renew([kept], seconds=60)
    time.sleep(1.5)
    [again] = sqs.receive(max_messages=10, wait=1)
    assert (again.action, again.attempt) == ("lost", 2)


def test_a_delayed_message_is_not_delivered_early(sqs):
    sqs.send("a", {}, delay=60)
    assert sqs.receive() == []
    assert sqs.depth().delayed == 1


def test_a_delay_beyond_fifteen_minutes_travels_in_the_body(sqs):
    sqs.send("a", {"n": 1}, delay=3600)
    # Delivered at the fifteen-minute mark (here: sent without an SQS delay), it is sent on for the rest.
    body = {"action": "a", "arguments": {"n": 1}, "not_before": time.time() + 2700}
    sqs.client.send_message(QueueUrl=sqs.queue_url("default"), MessageBody=json.dumps(body))
    assert sqs.receive(max_messages=10) == []
    assert sqs.depth().delayed == 2


def test_an_unreadable_body_is_a_dead_letter(sqs, db):
    sqs.client.send_message(QueueUrl=sqs.queue_url("default"), MessageBody="not json")
    stats = run_worker(burst=True)
    assert stats.dead == 1
    letter = DeadLetter.objects.get()
    assert letter.error.startswith("unreadable message body")
    assert letter.arguments == {"body": "not json"}
    assert sqs.depth().total == 0


def test_the_worker_runs_actions_from_sqs(sqs, db, call_log):
    enqueue(RecordCall.name, {"log": str(call_log), "value": "via sqs"})
    enqueue(AlwaysRetriable.name)
    stats = run_worker(burst=True)
    assert call_log.read_text() == "via sqs\n"
    assert (stats.succeeded, stats.retried, stats.dead) == (1, 2, 1)
    assert WorkerRun.objects.filter(action="test.AlwaysRetriable").count() == 3
    assert DeadLetter.objects.get().attempts == 3
    assert sqs.depth().total == 0


def test_other_logical_queues_are_their_own_sqs_queues(sqs, moto_server):
    moto_server.client("sqs").create_queue(QueueName=f"{sqs.queue_name}-reports")
    sqs.send("a", {}, queue="reports")
    assert sqs.receive() == []
    assert [m.action for m in sqs.receive(queue="reports", wait=1)] == ["a"]


def test_a_missing_queue_is_created_only_when_allowed(sqs, settings):
    missing = SqsTransport(queue_name=f"absent-{uuid.uuid4().hex[:8]}", create_queue=False)
    with pytest.raises(ClientError, match=r"NonExistentQueue|QueueDoesNotExist"):
        missing.send("a", {})
    created = SqsTransport(queue_name=missing.queue_name, create_queue=True)
    created.send("a", {})
    assert created.depth().ready == 1


def test_the_correlation_id_travels_in_the_message_body(sqs, db, call_log, caplog):
    from server.apps.core.logs import log_context

    with log_context(request="request-9", correlation="client-corr-9"):
        enqueue(RecordCall.name, {"log": str(call_log), "value": "v"})
    [message] = sqs.receive(wait=1)
    assert json.loads(message.raw["Body"])["correlation_id"] == "client-corr-9"
    assert (message.correlation_id, message.arguments["value"]) == ("client-corr-9", "v")
    sqs.release(message)
    caplog.set_level("INFO", logger="server.apps.worker")
    run_worker(burst=True)
    [done] = [r for r in caplog.records if " done in " in r.getMessage()]
    assert (done.request_id, done.correlation_id) == (f"message-{message.id}", "client-corr-9")


def test_release_makes_it_visible_at_once(sqs):
    sqs.send("a", {})
    [message] = sqs.receive(wait=1)
    sqs.release(message)
    [again] = sqs.receive(wait=1)
    assert again.id == message.id


def test_enqueue_on_commit_sends_after_the_commit(db, sqs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit(RecordCall.name, {"log": "/tmp/x"})
        assert sqs.depth().total == 0
    assert len(callbacks) == 1
    [message] = sqs.receive(wait=1)
    assert message.action == RecordCall.name


def test_receive_long_polls(sqs):
    """An idle receive waits on SQS's side (WaitTimeSeconds) and returns the message that arrives meanwhile."""
    sender = threading.Timer(0.5, lambda: sqs.send("late", {}))
    sender.start()
    try:
        messages = sqs.receive(wait=10)
    finally:
        sender.join()
    assert [message.action for message in messages] == ["late"]
