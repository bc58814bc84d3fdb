"""Commands through the file stores (RustiQ): the commands file in the incoming store with every version kept, the
status file read back, and what a malformed, duplicate or failing file does. On folders and on S3 (moto_server)."""

from __future__ import annotations

import json

import pytest

from server.apps.device.tests.factories import make_device, make_project
from server.apps.operation.models import DeviceMessageError, DeviceOperation, DeviceServiceStatus, OperationStatus
from server.apps.operation.services.status_files import status_files_read
from server.apps.operation.simulator import StoreDevice
from server.apps.operation.tests.factories import make_operation
from server.apps.operation.transports.store import INCOMING_STORE, commands_key
from server.apps.stores.selectors import store_file_list, store_file_read
from server.apps.worker.runner import run_worker


@pytest.fixture(params=["folder", "s3"])
def stores(request):
    return request.getfixturevalue("folder_stores" if request.param == "folder" else "s3_stores")


@pytest.fixture
def device(db):
    return make_device(make_project(name="Plant"), label="Gateway")


def queue(device, *commands: str) -> list[DeviceOperation]:
    return [make_operation(device, payload={"command": command}, transport="store") for command in commands]


def send(django_capture_on_commit_callbacks, device, *commands: str) -> list[DeviceOperation]:
    with django_capture_on_commit_callbacks(execute=True):
        operations = queue(device, *commands)
    run_worker(burst=True)
    return operations


def test_commands_go_out_as_a_file_and_results_come_back(stores, device, django_capture_on_commit_callbacks):
    status_op, stop_op = send(django_capture_on_commit_callbacks, device, "get_app_status()", "stop_app('x')")
    key = commands_key(device.slug, "monitoring-1.0")
    written = json.loads(store_file_read(store=INCOMING_STORE, key=key))
    assert written == [
        {"command": "get_app_status()", "operationId": str(status_op.id)},
        {"command": "stop_app('x')", "operationId": str(stop_op.id)},
    ]
    assert {op.status for op in DeviceOperation.objects.all()} == {OperationStatus.SENT}
    # A third command later: the file holds the three waiting ones, and every version is kept.
    send(django_capture_on_commit_callbacks, device, "get_app_status()")
    assert len(json.loads(store_file_read(store=INCOMING_STORE, key=key))) == 3
    versions = store_file_list(store=INCOMING_STORE, prefix=f"{device.slug}/monitoring-1.0/versions/")
    assert len(versions) == 3  # one per delivery

    assert StoreDevice(slug=device.slug).answer() == 3
    assert status_files_read() == 1
    assert set(DeviceOperation.objects.values_list("status", flat=True)) == {OperationStatus.SUCCEEDED}
    status_op.refresh_from_db()
    assert status_op.result == {"apps": ["monitoring"], "command": "get_app_status()"}
    service = DeviceServiceStatus.objects.get(device=device)
    assert (service.service, service.general_status) == ("monitoring-1.0", "ok")
    # The same file again is not read again.
    assert status_files_read() == 0


def test_a_malformed_status_file_is_an_error_on_the_device(folder_stores, device, django_capture_on_commit_callbacks):
    (operation,) = send(django_capture_on_commit_callbacks, device, "get_app_status()")
    StoreDevice(slug=device.slug, mode="malformed").answer()
    assert status_files_read() == 1
    problem = DeviceMessageError.objects.get(device=device)
    assert problem.transport == "store"
    assert problem.source == f"status/{device.slug}/monitoring-1.0/last_monitoring_status.json"
    assert "not JSON" in problem.error
    assert DeviceOperation.objects.get(pk=operation.pk).status == OperationStatus.SENT
    assert status_files_read() == 0  # recorded once
    # The worker goes on: a good file next closes the command.
    StoreDevice(slug=device.slug).answer()
    assert status_files_read() == 1
    assert DeviceOperation.objects.get(pk=operation.pk).status == OperationStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("mode", "status", "general"),
    [("fail", OperationStatus.FAILED, "degraded"), ("duplicate", OperationStatus.SUCCEEDED, "ok")],
)
def test_failing_and_duplicate_results(
    folder_stores, device, django_capture_on_commit_callbacks, mode, status, general
):
    (operation,) = send(django_capture_on_commit_callbacks, device, "stop_app('x')")
    StoreDevice(slug=device.slug, mode=mode).answer()
    status_files_read()
    operation.refresh_from_db()
    assert operation.status == status
    assert [entry["step"] for entry in operation.history].count("replied") == 1
    assert DeviceServiceStatus.objects.get(device=device).general_status == general


@pytest.mark.parametrize(
    "content",
    [b"[]", b'{"commands": "x"}', b'{"commands": [{"command": 1, "status": "ok"}]}', b"\xff\xfe", b"{" * 300_000],
)
def test_each_kind_of_bad_file_is_a_readable_error(folder_stores, device, django_capture_on_commit_callbacks, content):
    from server.apps.stores.services import store_file_save

    send(django_capture_on_commit_callbacks, device, "get_app_status()")
    store_file_save(store="status", key=f"{device.slug}/monitoring-1.0/last_monitoring_status.json", content=content)
    assert status_files_read() == 1
    assert DeviceMessageError.objects.filter(device=device).count() == 1


def test_the_simulator_command_answers_through_the_stores(folder_stores, device, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    (operation,) = send(django_capture_on_commit_callbacks, device, "get_app_status()")
    call_command("simulate_device", "--transport", "store", "--device", device.slug, "--duration", "0.01")
    assert status_files_read() == 1
    assert DeviceOperation.objects.get(pk=operation.pk).status == OperationStatus.SUCCEEDED
