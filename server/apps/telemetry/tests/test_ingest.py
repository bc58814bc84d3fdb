"""The ingest's two commits (raw rows on the default database, then their values on the streamdata database): a crash
between them, then the same message delivered again, ends with exactly the right rows; and what a batch costs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from server.apps.device.tests.factories import make_project
from server.apps.operation.services.inbound import MqttMessage
from server.apps.operation.topics import DeviceTopicMessage
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.services import WRITE_CLAIM_TABLE
from server.apps.telemetry.models import RawMessage, RawMessageStatus
from server.apps.telemetry.mqtt import TELEMETRY_SUFFIX, telemetry_mqtt_messages_ingest
from server.apps.telemetry.services import ingest
from server.apps.telemetry.tests.factories import make_token_device, telemetry_url

pytestmark = pytest.mark.django_db(databases=["default", "streamdata"])

TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
BODY = {"ts": TS, "values": {"temperature": 21.5, "humidity": 40, "pressure": 1013}}


class Crash(Exception):
    pass


def post(token: str, body, **headers):
    client = APIClient(raise_request_exception=False)
    return client.post(telemetry_url(token), data=json.dumps(body), content_type="application/json", **headers)


def stored_values() -> list[tuple[int, datetime, float]]:
    return sorted(StreamData.objects.values_list("id", "timestamp", "value"))


@pytest.fixture
def posting():
    return make_token_device(make_project(name="Farm"))


def test_a_crash_after_the_raw_commit_is_mended_by_the_next_delivery(posting, monkeypatch):
    _device, token = posting
    real_write = ingest.telemetry_values_write

    def crash(**kwargs):
        raise Crash("the process died between the two commits")

    monkeypatch.setattr(ingest, "telemetry_values_write", crash)
    assert post(token, BODY, HTTP_X_MESSAGE_ID="m-1").status_code == 500
    raw = RawMessage.objects.get()
    assert raw.status == RawMessageStatus.UNMAPPED
    assert len(raw.data_ids) == 3
    assert StreamData.objects.count() == 0  # the values were lost with the process

    monkeypatch.setattr(ingest, "telemetry_values_write", real_write)
    again = post(token, BODY, HTTP_X_MESSAGE_ID="m-1")
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["correlation_id"] == str(raw.correlation_id)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert stored_values() == sorted(zip(raw.data_ids, [when] * 3, [21.5, 40.0, 1013.0], strict=True))
    # Delivered a third time: nothing more.
    assert post(token, BODY, HTTP_X_MESSAGE_ID="m-1").json()["duplicate"] is True
    assert StreamData.objects.count() == 3
    assert RawMessage.objects.count() == 1


def test_a_crash_before_the_raw_commit_leaves_nothing_and_the_next_delivery_stores_once(posting, monkeypatch):
    _device, token = posting
    real_insert = ingest._raw_insert

    def insert_then_crash(*args):
        real_insert(*args)
        raise Crash("the process died before the raw rows committed")

    monkeypatch.setattr(ingest, "_raw_insert", insert_then_crash)
    assert post(token, BODY).status_code == 500
    assert RawMessage.objects.count() == 0
    assert StreamData.objects.count() == 0

    monkeypatch.setattr(ingest, "_raw_insert", real_insert)
    answer = post(token, BODY).json()
    assert answer["duplicate"] is False
    assert answer["stored"] == 3
    assert post(token, BODY).json()["duplicate"] is True
    raw = RawMessage.objects.get()
    assert [row_id for row_id, _, _ in stored_values()] == sorted(raw.data_ids)


def test_an_untimed_message_is_mended_at_its_first_delivery_time(posting, monkeypatch):
    _device, token = posting
    monkeypatch.setattr(ingest, "telemetry_values_write", lambda **kwargs: None)  # lost
    post(token, {"rain": 0.4}, HTTP_X_MESSAGE_ID="m-2")
    raw = RawMessage.objects.get()
    monkeypatch.undo()
    post(token, {"rain": 0.4}, HTTP_X_MESSAGE_ID="m-2")
    assert stored_values() == [(raw.data_ids[0], raw.received_at, 0.4)]


def mqtt_batch(device, payloads: list[dict]) -> list[DeviceTopicMessage]:
    topic = f"devices/{device.slug}/{TELEMETRY_SUFFIX}"
    return [
        DeviceTopicMessage(
            device.pk, device.org_id, TELEMETRY_SUFFIX, MqttMessage(topic, json.dumps(payload).encode(), timezone.now())
        )
        for payload in payloads
    ]


def test_an_mqtt_batch_writes_its_values_after_its_commit_and_a_redelivered_batch_mends_them(
    posting, django_capture_on_commit_callbacks
):
    device, _token = posting
    payloads = [{**BODY, "msg_id": "a"}, {"msg_id": "b", "ts": TS + 1000, "values": {"temperature": 22}}]
    # The bridge's batch commits, and the process dies before the commit's callbacks run.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcomes = telemetry_mqtt_messages_ingest(messages=mqtt_batch(device, payloads))
    assert [outcome.stored for outcome in outcomes] == [3, 1]
    assert len(callbacks) == 1
    assert StreamData.objects.count() == 0
    # The broker delivers the unacknowledged batch again (the first message twice, as a client may resend).
    with django_capture_on_commit_callbacks(execute=True):
        again = telemetry_mqtt_messages_ingest(messages=mqtt_batch(device, [payloads[0], *payloads]))
    assert [outcome.duplicate for outcome in again] == [True, True, True]
    ids = sorted(row_id for raw in RawMessage.objects.all() for row_id in raw.data_ids)
    assert [row_id for row_id, _, _ in stored_values()] == ids
    assert len(ids) == 4
    # The first callback running late (a slow commit, not a crash) writes nothing more.
    callbacks[0]()
    assert StreamData.objects.count() == 4


def test_a_batch_holding_one_message_twice_stores_it_once(posting, django_capture_on_commit_callbacks):
    device, _token = posting
    payload = {**BODY, "msg_id": "twice"}
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = telemetry_mqtt_messages_ingest(messages=mqtt_batch(device, [payload, payload]))
    assert [(outcome.stored, outcome.duplicate) for outcome in outcomes] == [(3, False), (0, True)]
    assert [row_id for row_id, _, _ in stored_values()] == sorted(RawMessage.objects.get().data_ids)


@pytest.mark.parametrize("entries", [1, 20])
def test_a_request_costs_the_same_queries_whatever_its_number_of_values(posting, entries, django_assert_num_queries):
    _device, token = posting
    assert post(token, BODY).status_code == 200  # the streams exist from here on
    body = [
        {"ts": TS + 1000 * (number + 1), "values": {"temperature": number, "humidity": 40, "pressure": 1013}}
        for number in range(entries)
    ]
    # Default database: the token (its user, its device's key and state, the membership: one query), the streams
    # with the device's current mapping, the raw rows with the device's last_seen (one statement), and the ingest's
    # savepoint and release. Streamdata: the values' ids, then the values with their roll-ups inside a savepoint (one
    # statement committing on its own outside a test's transaction).
    with (
        django_assert_num_queries(5),
        django_assert_num_queries(4, connection=connections["streamdata"]),
    ):
        response = post(token, body)
    assert response.json()["stored"] == 3 * entries
    assert StreamData.objects.count() == 3 + 3 * entries


@pytest.mark.django_db(transaction=True, databases=["default", "streamdata"])
def test_outside_a_transaction_the_values_commit_with_their_own_statement(posting, django_assert_num_queries):
    """As served: 7 round trips. Default database: the token, then BEGIN, the streams with the mapping, the raw rows,
    COMMIT. Streamdata: the ids, then the values as one query string that PostgreSQL commits on its own, claims and
    all (no BEGIN or COMMIT)."""
    _device, token = posting
    assert post(token, BODY).status_code == 200  # the streams exist from here on
    body = {"ts": TS + 1000, "values": {"temperature": 1, "humidity": 2, "pressure": 3}}
    with (
        django_assert_num_queries(5),
        django_assert_num_queries(2, connection=connections["streamdata"]),
    ):
        assert post(token, body).json()["stored"] == 3
    assert sorted(row_id for raw in RawMessage.objects.all() for row_id in raw.data_ids) == [
        row_id for row_id, _, _ in stored_values()
    ]
    with connections["streamdata"].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {WRITE_CLAIM_TABLE}")
        assert cursor.fetchone() == (0,)
