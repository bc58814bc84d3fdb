"""Commands through the file stores (RustiQ): the commands file in the incoming store with every version kept, the
status file read back, and what a malformed, duplicate or failing file does. On folders and on S3 (moto_server)."""

from __future__ import annotations

import json
import uuid

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
    assert set(DeviceOperation.objects.filter(kind="command").values_list("status", flat=True)) == {
        OperationStatus.SUCCEEDED
    }
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


@pytest.fixture
def notified(s3_stores, settings, moto_server, monkeypatch) -> str:
    """The worker on an SQS queue of moto_server, and the stores' bucket sending its S3 event notifications for
    the status store's prefix to that queue. Returns the queue's name."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_server.secret_key)
    sqs = moto_server.client("sqs")
    name = f"worker-{uuid.uuid4().hex[:12]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    settings.WORKER_QUEUE = "sqs"
    settings.WORKER_SQS_QUEUE_NAME = name
    settings.WORKER_SQS_ENDPOINT_URL = moto_server.endpoint_url
    settings.WORKER_SQS_REGION = moto_server.region
    prefix = settings.STORES["status"]["location"] + "/"
    moto_server.client("s3").put_bucket_notification_configuration(
        Bucket=s3_stores,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                }
            ]
        },
    )
    return name


def test_s3_event_notifications_bring_status_files_in_at_once(notified, device, django_capture_on_commit_callbacks):
    from server.apps.stores.services import store_file_save
    from server.apps.worker.models import DeadLetter, WorkerRun
    from server.apps.worker.transports import get_transport

    send(django_capture_on_commit_callbacks, device, "get_app_status()", "stop_app('x')")
    assert {op.status for op in DeviceOperation.objects.all()} == {OperationStatus.SENT}
    run_worker(burst=True)  # S3's test event, if any, changes nothing
    assert StoreDevice(slug=device.slug).answer() == 2  # the device writes its status file to the bucket
    # Only the worker's queue runs (no poll): S3's notification reads the file.
    stats = run_worker(burst=True)
    assert stats.succeeded >= 1
    assert WorkerRun.objects.filter(action="StoreObjectsCreated", status="success").exists()
    assert set(DeviceOperation.objects.filter(kind="command").values_list("status", flat=True)) == {
        OperationStatus.SUCCEEDED
    }
    assert DeviceServiceStatus.objects.get(device=device).general_status == "ok"
    assert status_files_read() == 0  # the poll finds nothing new: read once

    # Other objects in the status store, and an unreadable notification: skipped, or a dead letter; the worker goes on.
    store_file_save(store="status", key=f"{device.slug}/notes.txt", content=b"x")
    get_transport().client.send_message(
        QueueUrl=get_transport().queue_url("default"), MessageBody=json.dumps({"Records": [{"eventSource": "x"}]})
    )
    run_worker(burst=True)
    assert DeadLetter.objects.get().error.startswith("unreadable message body")
    assert not DeviceMessageError.objects.exists()


def test_store_keys_of_s3_objects(s3_stores, settings):
    from server.apps.stores.selectors import store_key_of_s3_object

    key = settings.STORES["status"]["location"] + "/d--0000-0000-0000-0001/monitoring-1.0/a%20b+c.json"
    assert store_key_of_s3_object(bucket=s3_stores, key=key) == (
        "status",
        "d--0000-0000-0000-0001/monitoring-1.0/a b c.json",
    )
    assert store_key_of_s3_object(bucket="another", key=key) is None
    assert store_key_of_s3_object(bucket=s3_stores, key="elsewhere/x.json") is None


def test_configuration_goes_through_the_stores_as_the_config_service(
    folder_stores, device, django_capture_on_commit_callbacks
):
    """Configuration over the stores, commands.json-style: <device>/config/commands.json holds the request, and the
    device confirms it in its config status file."""
    with django_capture_on_commit_callbacks(execute=True):
        operation = make_operation(device, kind="config", payload={":rate": 60}, transport="store")
    run_worker(burst=True)
    written = json.loads(store_file_read(store=INCOMING_STORE, key=commands_key(device.slug, "config")))
    assert written == [{"command": "SET_CONFIG", "operationId": str(operation.id), "value": {":rate": 60}}]
    assert store_file_list(store=INCOMING_STORE, prefix=f"{device.slug}/config/versions/")
    assert DeviceOperation.objects.get(pk=operation.pk).status == OperationStatus.SENT
    assert StoreDevice(slug=device.slug, service="config").answer() == 1
    assert status_files_read() == 1
    operation.refresh_from_db()
    assert operation.status == OperationStatus.SUCCEEDED
    assert [entry["step"] for entry in operation.history] == ["created", "sent", "replied"]


def test_a_device_heard_from_through_the_stores_gets_its_configuration_there(
    folder_stores, device, django_capture_on_commit_callbacks
):
    from server.apps.configattribute.services import config_attribute_create, config_name_create
    from server.apps.core.targets import target_for_object
    from server.apps.device.tests.factories import make_staff

    config_name_create(created_by=make_staff(), name=":rate")
    config_attribute_create(user=device.org.created_by, target=target_for_object(device.project), name=":rate", data=60)
    send(django_capture_on_commit_callbacks, device, "get_app_status()")
    StoreDevice(slug=device.slug).answer()
    with django_capture_on_commit_callbacks(execute=True):
        assert status_files_read() == 1  # its first status file: the device came online through the stores
    [config] = DeviceOperation.objects.filter(device=device, kind="config")
    assert (config.transport, config.history[0]["detail"]["via"]) == ("store", "store")
    run_worker(burst=True)  # resolves and writes it
    [entry] = json.loads(store_file_read(store=INCOMING_STORE, key=commands_key(device.slug, "config")))
    assert (entry["operationId"], entry["value"]) == (str(config.id), {":rate": 60})
    StoreDevice(slug=device.slug, service="config").answer()
    status_files_read()
    config.refresh_from_db()
    assert config.status == OperationStatus.SUCCEEDED
    assert [step["step"] for step in config.history] == ["connected", "configuration resolved", "sent", "replied"]
