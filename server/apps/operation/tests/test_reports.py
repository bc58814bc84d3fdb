"""A device heard from only through its streamer reports (never over MQTT) comes online with its first report, or
its first one after ``CONFIG_ON_CONNECT_GAP_SECONDS`` of silence: presence is recorded and its configuration
goes out over HTTP, where the device's poll picks it up. Reports uploaded through the API, processed by the real
worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from server.apps.configattribute.services import config_attribute_create, config_name_create
from server.apps.core.targets import target_for_object
from server.apps.core.testing import assert_query_count
from server.apps.device.tests.factories import make_staff
from server.apps.operation.models import DeviceOperation, DevicePresence, OperationStatus
from server.apps.operation.services.inbound import devices_seen
from server.apps.operation.tests.factories import device_client
from server.apps.stores.services import store_file_delete
from server.apps.streamer.models import ReportStatus, StreamerReport
from server.apps.streamer.services.processing import streamer_report_process
from server.apps.streamer.services.upload import REPORT_STORE
from server.apps.streamer.tests.factories import make_ingest, signed_report, upload
from server.apps.worker.models import QueueMessage
from server.apps.worker.runner import run_worker

POLL = "/api/v1/operation/poll/"
REPLY = "/api/v1/operation/reply/"


@pytest.fixture(autouse=True)
def reports_tell_presence(settings, folder_stores):
    settings.REPORT_PRESENCE = True
    settings.WORKER_QUEUE = "postgres"


@pytest.fixture
def ingest(db):
    ingest = make_ingest()
    config_name_create(created_by=make_staff(), name=":rate")
    config_attribute_create(user=ingest.user, target=target_for_object(ingest.project), name=":rate", data=60)
    return ingest


def send_report(ingest, number: int, at) -> StreamerReport:
    rows = [(10, 0x5001, number, number)]
    data = signed_report(ingest.device.id, rows, report_id=number, sent=100)
    response = upload(ingest.client, data, timestamp=at.isoformat())
    assert response.status_code == 201, response.content
    return StreamerReport.objects.get(pk=response.json()["id"])


def config_operations(device) -> list[DeviceOperation]:
    return list(DeviceOperation.objects.filter(device=device, kind="config").order_by("created_on"))


def test_the_first_report_and_the_first_after_a_gap_configure_the_device(ingest):
    device, now = ingest.device, timezone.now()
    first = send_report(ingest, 1, now - timedelta(minutes=2))
    run_worker(burst=True)  # the report, the presence it tells, the configuration
    assert StreamerReport.objects.get(pk=first.pk).status == ReportStatus.SUCCESS
    presence = DevicePresence.objects.get(device=device)
    assert (presence.online, presence.last_seen, presence.transport) == (True, first.sent_timestamp, "http")
    [operation] = config_operations(device)
    assert operation.transport == "http"
    assert [step["step"] for step in operation.history] == ["connected", "configuration resolved"]
    assert operation.history[0]["detail"]["via"] == "http"

    # The device's poll (with its own token) hands the configuration over; its reply closes it.
    client = device_client(device)
    [request] = client.get(POLL).json()
    assert (request["operationId"], request["value"]) == (str(operation.id), {":rate": 60})
    reply = {"operationId": str(operation.id), "type": "RESP", "status": "SUCCESS", "value": {":rate": 60}}
    assert client.post(REPLY, reply, format="json").json()[0]["outcome"] == "recorded"
    assert DeviceOperation.objects.get(pk=operation.pk).status == OperationStatus.SUCCEEDED

    # Another report within the gap: seen, nothing sent.
    second = send_report(ingest, 2, now - timedelta(minutes=1))
    run_worker(burst=True)
    assert len(config_operations(device)) == 1
    assert DevicePresence.objects.get(device=device).last_seen >= second.sent_timestamp

    # Silence longer than the gap, then a report: the device came online again.
    DevicePresence.objects.filter(device=device).update(last_seen=now - timedelta(hours=2))
    third = send_report(ingest, 3, now)
    run_worker(burst=True)
    operations = config_operations(device)
    assert len(operations) == 2
    assert operations[1].status == OperationStatus.PENDING
    assert operations[1].ready
    assert DevicePresence.objects.get(device=device).connected_on == third.sent_timestamp


def test_processing_hands_the_presence_over_in_one_statement(ingest):
    send_report(ingest, 1, timezone.now())
    run_worker(burst=True)
    report = send_report(ingest, 2, timezone.now())
    QueueMessage.objects.all().delete()
    # As test_process.py pins it (3 + 4), and one queue message for the batch's devices.
    with assert_query_count(3 + 4 + 1), assert_query_count(5, using="streamdata"):
        streamer_report_process(report_id=str(report.pk))
    [message] = QueueMessage.objects.values_list("action", "arguments")
    seen = [[ingest.device.pk, report.sent_timestamp.isoformat()]]
    assert message == ("DevicesSeen", {"devices": seen, "transport": "http"})
    # The worker's side: the devices, then presence's lock and upsert and the devices' health turned OK
    # (savepoints here, inside the test's transaction); nothing more when no device came online.
    with assert_query_count(3 + 4 + 1):
        assert devices_seen(seen=[(ingest.device.pk, timezone.now())], transport="http") == []


def test_a_failed_report_tells_nothing_and_presence_is_off_by_setting(ingest, settings):
    lost = send_report(ingest, 1, timezone.now())
    store_file_delete(store=REPORT_STORE, key=lost.file_key)  # fails in the worker: its file is gone
    run_worker(burst=True)
    assert StreamerReport.objects.get(pk=lost.pk).status == ReportStatus.FAILED
    assert not DevicePresence.objects.exists()
    settings.REPORT_PRESENCE = False
    send_report(ingest, 2, timezone.now())
    run_worker(burst=True)
    assert not DevicePresence.objects.exists()
    assert not config_operations(ingest.device)
