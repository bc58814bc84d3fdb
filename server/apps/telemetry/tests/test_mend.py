"""The job that writes the values a crash between an ingest's two commits left missing (``MendTelemetryValues``):
exactly the missing values, once, however it meets a second run or a redelivery; and cheap when nothing is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.utils import timezone

from server.apps.device.tests.factories import make_project
from server.apps.streamdata.models import StreamData
from server.apps.telemetry.models import RawMessage, RawMessageStatus
from server.apps.telemetry.mqtt import telemetry_mqtt_messages_ingest
from server.apps.telemetry.services import ingest
from server.apps.telemetry.services.ingest import telemetry_values_mend
from server.apps.telemetry.services.mapping import mapping_start, mapping_toggle
from server.apps.telemetry.tests.factories import (
    logical_values,
    make_logical,
    make_physical_of,
    make_token_device,
    routed_consumer,
)
from server.apps.telemetry.tests.test_ingest import BODY, TS, Crash, mqtt_batch, post, stored_values
from server.apps.worker.queue import enqueue
from server.apps.worker.runner import run_worker

pytestmark = pytest.mark.django_db(databases=["default", "streamdata"])

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def expected_values(raw: RawMessage, values: list[float], when: datetime = WHEN) -> list[tuple[int, datetime, float]]:
    return list(zip(raw.data_ids, [when] * len(values), values, strict=True))


def mend() -> int:
    """A run of the job, for messages received up to now (its grace period elapsed)."""
    return telemetry_values_mend(received_before=timezone.now() + timedelta(seconds=1))


@pytest.fixture
def posting():
    return make_token_device(make_project(name="Farm"))


@pytest.fixture
def crashing(monkeypatch):
    """The next ingests' processes die between the two commits, after writing ``keep`` of their values."""
    real_write = ingest.telemetry_values_write

    def crash_after(keep: int = 0):
        def write_then_crash(*, rows):
            real_write(rows=rows[:keep])
            raise Crash("the process died between the two commits")

        monkeypatch.setattr(ingest, "telemetry_values_write", write_then_crash)

    yield crash_after
    monkeypatch.setattr(ingest, "telemetry_values_write", real_write)


def test_the_job_writes_exactly_the_values_a_crash_left_missing(posting, crashing, monkeypatch):
    _device, token = posting
    assert post(token, BODY, HTTP_X_MESSAGE_ID="whole").status_code == 200
    crashing(keep=1)  # one value of three written, then the crash
    assert post(token, {"ts": TS + 1000, "values": {"a": 1, "b": 2, "c": 3}}).status_code == 500
    crashing(keep=0)
    assert post(token, {"rain": 0.4}, HTTP_X_MESSAGE_ID="untimed").status_code == 500
    monkeypatch.undo()
    whole, partial, untimed = RawMessage.objects.order_by("id")
    assert StreamData.objects.count() == 4
    assert all(raw.values_pending for raw in (whole, partial, untimed))

    assert mend() == 3
    assert stored_values() == sorted(
        [
            *expected_values(whole, [21.5, 40, 1013]),
            *expected_values(partial, [1, 2, 3], WHEN + timedelta(seconds=1)),
            (untimed.data_ids[0], untimed.received_at, 0.4),  # timed by its first delivery
        ]
    )
    assert not RawMessage.objects.filter(values_pending=True).exists()
    assert [raw.status for raw in RawMessage.objects.order_by("id")] == [RawMessageStatus.UNMAPPED] * 3
    # Run again, and the message delivered again: nothing more.
    assert mend() == 0
    assert post(token, {"rain": 0.4}, HTTP_X_MESSAGE_ID="untimed").json()["duplicate"] is True
    assert StreamData.objects.count() == 7


def test_a_message_younger_than_the_grace_period_is_left_to_its_own_ingest(posting, crashing, monkeypatch):
    _device, token = posting
    crashing()
    post(token, BODY)
    monkeypatch.undo()
    raw = RawMessage.objects.get()
    assert telemetry_values_mend(received_before=raw.received_at) == 0
    assert StreamData.objects.count() == 0
    assert RawMessage.objects.get().values_pending
    assert mend() == 3


def test_a_refused_message_is_never_pending(posting):
    _device, token = posting
    assert post(token, {"values": "warm"}).status_code == 400
    assert RawMessage.objects.get().values_pending is False


def test_two_runs_at_once_write_each_value_once(posting, crashing, monkeypatch):
    """A second run starts and finishes while the first one writes: the first finds every value stored."""
    _device, token = posting
    crashing()
    post(token, BODY)
    monkeypatch.undo()
    real_write = ingest.telemetry_values_write
    written: list[list[int]] = []

    def second_run_first(*, rows):
        monkeypatch.setattr(ingest, "telemetry_values_write", real_write)
        assert mend() == 3
        written.append(real_write(rows=rows))
        return written[-1]

    monkeypatch.setattr(ingest, "telemetry_values_write", second_run_first)
    assert mend() == 0
    assert written == [[]]
    assert stored_values() == expected_values(RawMessage.objects.get(), [21.5, 40, 1013])


@pytest.mark.parametrize("first", ["job", "redelivery"])
def test_a_run_racing_a_redelivery_writes_each_value_once(posting, crashing, monkeypatch, first):
    """Each writes while the other has rebuilt the same values; whichever writes second finds them stored."""
    _device, token = posting
    crashing()
    post(token, BODY, HTTP_X_MESSAGE_ID="m-1")
    monkeypatch.undo()
    real_write = ingest.telemetry_values_write

    def other_first(*, rows):
        monkeypatch.setattr(ingest, "telemetry_values_write", real_write)
        if first == "job":  # the redelivery is writing; the job runs meanwhile
            assert mend() == 3
        else:  # the job is writing; the message arrives again meanwhile
            assert post(token, BODY, HTTP_X_MESSAGE_ID="m-1").json()["duplicate"] is True
        return real_write(rows=rows)

    monkeypatch.setattr(ingest, "telemetry_values_write", other_first)
    if first == "job":
        assert post(token, BODY, HTTP_X_MESSAGE_ID="m-1").json()["duplicate"] is True
    else:
        assert mend() == 0
    assert stored_values() == expected_values(RawMessage.objects.get(), [21.5, 40, 1013])


def test_a_crashed_mqtt_batch_is_mended(posting, django_capture_on_commit_callbacks):
    device, _token = posting
    with django_capture_on_commit_callbacks(execute=False):  # the process dies before the batch's values
        telemetry_mqtt_messages_ingest(messages=mqtt_batch(device, [{**BODY, "msg_id": "a"}]))
    assert StreamData.objects.count() == 0
    assert mend() == 3
    assert stored_values() == expected_values(RawMessage.objects.get(), [21.5, 40, 1013])


@pytest.mark.parametrize("paused", [False, True])
def test_the_job_keeps_a_message_s_routing_as_it_was(posting, crashing, monkeypatch, paused):
    """A routed message's values reach its logical series, offered to the consumers once (at its ingest); a paused
    one's values are kept on the physical streams only."""
    device, token = posting
    owner = device.org.created_by
    tank = make_logical(device.project)
    mapping_start(
        user=owner, physical=make_physical_of(device), logical=tank, start=timezone.now() - timedelta(hours=1)
    )
    if paused:
        mapping_toggle(user=owner, logical=tank, is_active=False)
    when = (timezone.now() + timedelta(seconds=10)).replace(microsecond=0)  # after the pause
    with routed_consumer() as offered:
        crashing()
        post(token, {"ts": int(when.timestamp() * 1000), "values": {"temperature": 21.5}})
        monkeypatch.undo()
        assert telemetry_values_mend(received_before=when + timedelta(minutes=1)) == 1
    raw = RawMessage.objects.get()
    assert stored_values() == expected_values(raw, [21.5], when)
    if paused:
        assert (raw.status, raw.logical_device_id, offered) == (RawMessageStatus.PAUSED, None, [])
        assert not tank.series.exists()  # no series for a key first heard while paused
    else:
        assert (raw.status, raw.logical_device_id) == (RawMessageStatus.ROUTED, tank.pk)
        assert len(offered) == 1
        assert logical_values(tank, "temperature") == [(when, 21.5)]


def test_nothing_missing_costs_three_queries_a_batch_then_one(posting, django_assert_num_queries):
    _device, token = posting
    for number in range(5):
        assert post(token, {"ts": TS + number, "values": {"temperature": number}}).status_code == 200
    assert RawMessage.objects.filter(values_pending=True).count() == 5
    # The pending rows, then which of their values are stored (streamdata), then the rows no longer pending.
    with django_assert_num_queries(2), django_assert_num_queries(1, connection=connections["streamdata"]):
        assert mend() == 0
    assert not RawMessage.objects.filter(values_pending=True).exists()
    with django_assert_num_queries(1), django_assert_num_queries(0, connection=connections["streamdata"]):
        assert mend() == 0


def test_the_worker_runs_the_job(posting, crashing, monkeypatch, settings):
    _device, token = posting
    crashing()
    post(token, BODY)
    monkeypatch.undo()
    settings.TELEMETRY_MEND_GRACE_SECONDS = 0
    enqueue("MendTelemetryValues", {})
    assert run_worker(burst=True).succeeded == 1
    assert stored_values() == expected_values(RawMessage.objects.get(), [21.5, 40, 1013])
