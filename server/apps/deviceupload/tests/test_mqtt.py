"""Kanto's AutoUploadable over a real Mosquitto, the bridge and the worker, with the simulator's uploading device:
trigger, a request per file, start with an S3 presigned PUT (moto_server), SUCCESS: the file is in the bucket; a
device claiming another checksum ends FAILED with the reason."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from server.apps.device.tests.factories import make_device, make_project
from server.apps.deviceupload.models import UPLOAD_STORE, DeviceUpload
from server.apps.deviceupload.tests.factories import make_trigger
from server.apps.operation.models import DeviceOperation, OperationStatus
from server.apps.operation.services.credentials import device_mqtt_logins_provision
from server.apps.operation.services.operations import operation_cancel
from server.apps.operation.simulator import MqttFleet
from server.apps.operation.transports.mqtt import broker_address
from server.apps.stores.selectors import store_file_read
from server.apps.worker.runner import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

FILES = {"app.log": b"line 1\nline 2\n", "boot.log": b"booted\n"}


def drive(fleet: MqttFleet, done: Callable[[], bool], seconds: float = 30.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        fleet.run(seconds=0.1)
        run_worker(burst=True)
        if done():
            return
    raise AssertionError("the flow did not finish in time")


@pytest.fixture
def fleets() -> Iterator[list[MqttFleet]]:
    made: list[MqttFleet] = []
    yield made
    for fleet in made:
        fleet.close()


def uploading_device(broker, fleets, device, mode: str = "answer") -> MqttFleet:
    logins = device_mqtt_logins_provision(devices=[device])
    fleet = MqttFleet(broker=broker_address(broker.platform_url), logins=logins, mode=mode, birth=False, files=FILES)
    fleets.append(fleet)
    fleet.connect()
    fleet.run(seconds=10, until=MqttFleet.all_connected)
    return fleet


def closed_uploads(count: int) -> Callable[[], bool]:
    return lambda: DeviceUpload.objects.exclude(operation__status__in=["PENDING", "SENT"]).count() == count


def test_3_trigger_request_presigned_put_success(broker, bridge, s3_stores, fleets):
    device = make_device(make_project())
    fleet = uploading_device(broker, fleets, device)
    trigger = make_trigger(device, transport="mqtt")
    drive(fleet, closed_uploads(2))
    assert DeviceOperation.objects.get(pk=trigger.pk).status == OperationStatus.SUCCEEDED
    uploads = {upload.name: upload for upload in DeviceUpload.objects.select_related("operation")}
    assert set(uploads) == set(FILES)
    for name, upload in uploads.items():
        assert upload.operation.status == OperationStatus.SUCCEEDED, upload.message
        assert (upload.state, upload.progress) == ("SUCCESS", 100)
        assert store_file_read(store=UPLOAD_STORE, key=upload.key) == FILES[name]  # in the bucket
    starts = [r for r in fleet.records[device.slug].requests if "options" in r and "https.url" in r["options"]]
    assert len(starts) == 2
    assert all("Signature=" in start["options"]["https.url"] for start in starts)


def test_4_a_checksum_mismatch_fails_with_the_reason(broker, bridge, s3_stores, fleets):
    device = make_device(make_project())
    fleet = uploading_device(broker, fleets, device, mode="fail")
    make_trigger(device, transport="mqtt")
    drive(fleet, closed_uploads(2))
    for upload in DeviceUpload.objects.select_related("operation"):
        assert upload.operation.status == OperationStatus.FAILED
        assert upload.operation.error.startswith("Checksum mismatch")


def test_cancel_is_sent_to_the_device_on_its_cancel_topic(broker, bridge, s3_stores, fleets):
    device = make_device(make_project())
    fleet = uploading_device(broker, fleets, device, mode="slow")  # holds each file at 25 %
    make_trigger(device, transport="mqtt")
    drive(fleet, lambda: DeviceUpload.objects.filter(progress=25).count() == 2)
    upload = DeviceUpload.objects.select_related("operation").order_by("correlation_id").first()
    operation_cancel(user=device.org.created_by, operation=upload.operation)
    drive(fleet, lambda: DeviceOperation.objects.filter(kind="uploadcancel", status="SUCCEEDED").exists())
    cancels = [r for r in fleet.records[device.slug].requests if r.get("message") == "Canceled by the platform."]
    assert [cancel["correlationId"] for cancel in cancels] == [upload.correlation_id]
    upload.refresh_from_db()
    assert (upload.state, upload.operation.status) == ("CANCELED", OperationStatus.CANCELED)
    other = DeviceUpload.objects.exclude(pk=upload.pk).select_related("operation").get()
    assert (other.state, other.operation.status) == ("UPLOADING", OperationStatus.SENT)  # untouched
