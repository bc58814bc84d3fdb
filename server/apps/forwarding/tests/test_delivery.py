"""Sending outboxes through the real worker to a real HTTP server and a real store: a webhook that is down and then
back gets each message exactly once and in order; a failing head holds the rows behind it; retries back off, then
dead-letter, and a replay sends the dead letters in order; a sender that crashes after the destination took a
message sends it again (at least once) with the same idempotency key, and loses nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from server.apps.core.testing import assert_query_count, make_org
from server.apps.forwarding import services
from server.apps.forwarding.models import Delivery, DeliveryStatus
from server.apps.forwarding.services import deliveries_create, deliveries_replay, destinations_sweep
from server.apps.forwarding.tests.factories import make_destination, routed_message
from server.apps.stores.selectors import store_file_list, store_file_read
from server.apps.worker.models import QueueMessage
from server.apps.worker.queue import enqueue
from server.apps.worker.runner import run_worker

pytestmark = pytest.mark.django_db


def _route(org, count: int) -> list[str]:
    ids = []
    for number in range(count):
        message = routed_message(org, number)
        deliveries_create(messages=[message])
        ids.append(message["broker_correlation_id"])
    return ids


def _time_passes() -> None:
    """What the backoff waits for: the outbox's rows come due, and the sweep gives them a run."""
    Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
    QueueMessage.objects.filter(action="DeliverDestination").delete()
    destinations_sweep()


def _statuses(destination) -> list[tuple[str, int]]:
    return list(destination.deliveries.order_by("id").values_list("status", "attempts"))


def test_a_webhook_down_then_back_gets_each_message_once_in_order(webhook_receiver):
    org = make_org()
    destination = make_destination(org, url=webhook_receiver.url, backoff=30, max_attempts=10)
    sent = _route(org, 5)
    assert destination.deliveries.count() == 5

    # Down: the head fails and backs off; the rows behind it wait their turn.
    run_worker(burst=True)
    assert webhook_receiver.received == []
    assert _statuses(destination) == [("pending", 1)] + [("pending", 0)] * 4
    head = destination.deliveries.order_by("id").first()
    assert "ConnectionError" in head.last_error
    assert timedelta(seconds=29) < head.next_attempt_at - head.last_attempt_at <= timedelta(seconds=30)

    _time_passes()
    run_worker(burst=True)
    head.refresh_from_db()
    assert head.attempts == 2
    # Exponential: the second retry waits twice as long as the first.
    assert timedelta(seconds=59) < head.next_attempt_at - head.last_attempt_at <= timedelta(seconds=60)

    # Back: everything goes out once, in the order it was routed, each with its correlation id as the key.
    webhook_receiver.up()
    _time_passes()
    run_worker(burst=True)
    assert webhook_receiver.correlation_ids() == sent
    assert [r.json()["broker_correlation_id"] for r in webhook_receiver.received] == sent
    assert {r.headers["X-Correlation-Id"] for r in webhook_receiver.received} == set(sent)
    assert _statuses(destination) == [("delivered", 3)] + [("delivered", 1)] * 4
    assert destination.deliveries.filter(delivered_on=None).count() == 0

    # A later message follows at once; running again sends nothing twice.
    later = _route(org, 1)
    run_worker(burst=True)
    destinations_sweep()
    run_worker(burst=True)
    assert webhook_receiver.correlation_ids() == sent + later


def test_retries_end_in_dead_letters_that_replay_in_order(webhook_receiver):
    org = make_org()
    destination = make_destination(org, url=webhook_receiver.url, backoff=5, max_attempts=2)
    webhook_receiver.up()
    webhook_receiver.status = 503
    sent = _route(org, 3)

    run_worker(burst=True)
    for _ in range(3):
        _time_passes()
        run_worker(burst=True)
    # Each row failed twice and is dead; a dead head lets the next row go.
    assert _statuses(destination) == [("dead", 2)] * 3
    assert len(webhook_receiver.received) == 6
    assert destination.deliveries.first().last_error.startswith("HTTP 503")

    webhook_receiver.status = 200
    webhook_receiver.received.clear()
    assert deliveries_replay(user=org.created_by, destination=destination) == 3
    run_worker(burst=True)
    assert webhook_receiver.correlation_ids() == sent
    assert [status for status, _ in _statuses(destination)] == ["delivered"] * 3


def test_the_same_message_routed_twice_is_in_the_outbox_once(webhook_receiver):
    org = make_org()
    destination = make_destination(org, url=webhook_receiver.url)
    inactive = make_destination(org, url=webhook_receiver.url, is_active=False)
    message = routed_message(org)
    assert deliveries_create(messages=[message]) == 1
    assert deliveries_create(messages=[message]) == 0
    assert destination.deliveries.count() == 1
    assert inactive.deliveries.count() == 0
    # Another organisation's destinations are not offered it.
    assert deliveries_create(messages=[routed_message(make_org())]) == 0


def test_a_batch_lands_in_each_outbox_of_its_organisation_in_order():
    north, south = make_org(), make_org()
    lake, river = make_destination(north), make_destination(north)
    sea = make_destination(south)
    batch = [routed_message(north, 1), routed_message(south, 2), routed_message(north, 3)]
    # Its savepoint, the destinations, one insert, a queue message per destination, the release.
    with assert_query_count(7):
        assert deliveries_create(messages=batch) == 5
    for destination, expected in ((lake, [batch[0], batch[2]]), (river, [batch[0], batch[2]]), (sea, [batch[1]])):
        assert [row.message for row in destination.deliveries.order_by("id")] == expected


def test_a_crash_after_the_destination_took_a_message_sends_it_again_and_loses_nothing(webhook_receiver, monkeypatch):
    org = make_org()
    destination = make_destination(org, url=webhook_receiver.url)
    webhook_receiver.up()
    sent = _route(org, 3)
    marked = services._delivery_mark_delivered
    calls = []

    def crash_on_second(delivery_id, at):
        calls.append(delivery_id)
        if len(calls) == 2:
            raise SystemExit("the worker dies between the POST and the commit")
        marked(delivery_id, at)

    monkeypatch.setattr(services, "_delivery_mark_delivered", crash_on_second)
    with pytest.raises(SystemExit):
        services.destination_send(destination_id=destination.id)
    assert webhook_receiver.correlation_ids() == sent[:2]
    assert _statuses(destination) == [("delivered", 1), ("pending", 0), ("pending", 0)]

    # The retry (the sweep's run) sends the second message again with the same key, then the rest.
    monkeypatch.setattr(services, "_delivery_mark_delivered", marked)
    _time_passes()
    run_worker(burst=True)
    assert webhook_receiver.correlation_ids() == [sent[0], sent[1], sent[1], sent[2]]
    assert list(dict.fromkeys(webhook_receiver.correlation_ids())) == sent
    assert [status for status, _ in _statuses(destination)] == ["delivered"] * 3


def test_a_signed_webhook_carries_its_headers_and_signature(webhook_receiver):
    import hashlib
    import hmac

    org = make_org()
    make_destination(org, url=webhook_receiver.url, headers={"Authorization": "Bearer abc"}, secret="s3cret")
    webhook_receiver.up()
    _route(org, 1)
    run_worker(burst=True)
    (received,) = webhook_receiver.received
    assert received.headers["Authorization"] == "Bearer abc"
    expected = hmac.new(b"s3cret", received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-Signature-SHA256"] == f"sha256={expected}"


def test_a_file_destination_writes_one_folder_per_message():
    org = make_org()
    destination = make_destination(org, kind="file", prefix="raw_data")
    sent = _route(org, 2)
    run_worker(burst=True)
    keys = store_file_list(store="delivery", prefix="raw_data/")
    assert keys == sorted(f"raw_data/{cid}/{cid}.json" for cid in sent)
    body = json.loads(store_file_read(store="delivery", key=f"raw_data/{sent[0]}/{sent[0]}.json"))
    assert body["broker_correlation_id"] == sent[0]
    assert body["timeseries"] == [{"name": "temperature", "value": 20}]
    assert [status for status, _ in _statuses(destination)] == ["delivered"] * 2


def test_a_store_outage_is_retried_then_delivered(store_outage):
    org = make_org()
    destination = make_destination(org, kind="file", store="delivery")
    store_outage.start("delivery")
    (sent,) = _route(org, 1)
    run_worker(burst=True)
    row = destination.deliveries.get()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "unavailable" in row.last_error
    store_outage.end()
    _time_passes()
    run_worker(burst=True)
    row.refresh_from_db()
    assert row.status == "delivered"
    assert store_file_list(store="delivery", prefix="") == [f"{sent}/{sent}.json"]


def test_delivered_rows_are_kept_for_the_retention_then_deleted():
    org = make_org()
    destination = make_destination(org)
    _route(org, 3)
    old, recent, pending = destination.deliveries.order_by("id")
    Delivery.objects.filter(pk=old.pk).update(status="delivered", delivered_on=timezone.now() - timedelta(days=8))
    Delivery.objects.filter(pk=recent.pk).update(status="delivered", delivered_on=timezone.now() - timedelta(days=6))
    Delivery.objects.filter(pk=pending.pk).update(created_on=timezone.now() - timedelta(days=30))
    enqueue("ForwardingCleanup", {"days": 7})
    QueueMessage.objects.filter(action="DeliverDestination").delete()
    run_worker(burst=True)
    assert list(destination.deliveries.order_by("id").values_list("pk", flat=True)) == [recent.pk, pending.pk]
