"""Desired states through their services: versions and their operations, supersede, cancel, Kanto's feedback and
current state as the bridge hands them over, and how a device's inventory differs from its desired state."""

from __future__ import annotations

import logging
import uuid

import pytest

from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.testing import make_member
from server.apps.desiredstate.models import DesiredState, DeviceCurrentState
from server.apps.desiredstate.selectors import desired_state_campaign, state_difference
from server.apps.desiredstate.services import (
    current_state_messages_process,
    desired_state_cancel,
    feedback_messages_process,
)
from server.apps.desiredstate.tests.factories import TWO_CONTAINERS, feedback, make_desired_state, topic_message
from server.apps.device.tests.factories import make_device, make_project
from server.apps.fleet.tests.factories import make_fleet, ota_manager
from server.apps.operation.models import DeviceMessageError, DeviceOperation, OperationStatus
from server.apps.operation.services.operations import operations_mark_sent
from server.apps.org.roles import MEMBER

pytestmark = pytest.mark.django_db

FEEDBACK = "update/desiredstatefeedback"


@pytest.fixture
def device():
    return make_device(make_project())


def operation_of(desired: DesiredState) -> DeviceOperation:
    return DeviceOperation.objects.get(batch=desired.batch)


def test_a_desired_state_goes_to_its_device_as_an_operation_with_a_new_activity(device):
    first = make_desired_state(device=device)
    second = make_desired_state(device=device)
    assert (first.version, second.version) == (1, 2)
    operation = operation_of(second)
    assert (operation.kind, operation.transport, operation.device_id) == ("desiredstate", "mqtt", device.pk)
    assert operation.payload == TWO_CONTAINERS
    assert operation_of(first).id != operation.id  # each version its own activityId


def test_v2_sent_while_v1_runs_supersedes_v1(device):
    v1 = make_desired_state(device=device)
    operations_mark_sent(operation_ids=[operation_of(v1).id])
    feedback_messages_process(messages=[topic_message(device, FEEDBACK, feedback(operation_of(v1).id, "RUNNING"))])
    v2 = make_desired_state(device=device)
    old, new = operation_of(v1), operation_of(v2)
    assert old.status == OperationStatus.SUPERSEDED
    assert old.history[-1]["step"] == "superseded"
    assert new.status == OperationStatus.PENDING
    # The device's own SUPERSEDED report for v1 comes after: a duplicate, nothing changes.
    feedback_messages_process(messages=[topic_message(device, FEEDBACK, feedback(old.id, "SUPERSEDED"))])
    assert operation_of(v1).closed_on == old.closed_on


def test_feedback_is_recorded_by_activity_with_each_action(device):
    operation = operation_of(make_desired_state(device=device))
    operations_mark_sent(operation_ids=[operation.id])
    running = feedback(
        operation.id, "RUNNING", [("containers:influxdb", "UPDATING", 40), ("containers:grafana", "DOWNLOADING", 10)]
    )
    feedback_messages_process(messages=[topic_message(device, FEEDBACK, running)])
    operation.refresh_from_db()
    assert operation.status == OperationStatus.SENT
    assert operation.result["status"] == "RUNNING"
    assert [(a["component"]["id"], a["status"], a["progress"]) for a in operation.result["actions"]] == [
        ("containers:influxdb", "UPDATING", 40),
        ("containers:grafana", "DOWNLOADING", 10),
    ]
    done = feedback(
        operation.id,
        "COMPLETED",
        [("containers:influxdb", "UPDATE_SUCCESS", 100), ("containers:grafana", "UPDATE_SUCCESS", 100)],
    )
    feedback_messages_process(messages=[topic_message(device, FEEDBACK, done)])
    operation.refresh_from_db()
    assert operation.status == OperationStatus.SUCCEEDED
    assert {a["status"] for a in operation.result["actions"]} == {"UPDATE_SUCCESS"}
    assert [entry["step"] for entry in operation.history][-2:] == ["progress", "replied"]


def test_a_failure_keeps_the_devices_message(device):
    operation = operation_of(make_desired_state(device=device))
    operations_mark_sent(operation_ids=[operation.id])
    body = feedback(operation.id, "FINISHED_ERROR", [("containers:influxdb", "DOWNLOAD_FAILURE", 100)])
    body["payload"]["actions"][0]["message"] = "checksum mismatch: expected 9f86…, got 2c26…"
    feedback_messages_process(messages=[topic_message(device, FEEDBACK, body)])
    operation.refresh_from_db()
    assert operation.status == OperationStatus.FAILED
    assert operation.error == "containers:influxdb: checksum mismatch: expected 9f86…, got 2c26…"
    assert operation.result["status"] == "FINISHED_ERROR"


def test_feedback_for_an_unknown_activity_is_logged_and_ignored(device, caplog):
    operation = operation_of(make_desired_state(device=device))
    other = make_device(device.project)
    before = DeviceOperation.objects.values_list("id", "status", "history").order_by("id")
    before = list(before)
    with caplog.at_level(logging.WARNING):
        outcomes = feedback_messages_process(
            messages=[
                topic_message(device, FEEDBACK, feedback(uuid.uuid4(), "COMPLETED")),
                topic_message(device, FEEDBACK, feedback("not-a-uuid", "COMPLETED")),
                topic_message(other, FEEDBACK, feedback(operation.id, "COMPLETED")),  # another device's activity
            ]
        )
    assert [outcome.outcome for outcome in outcomes] == ["unknown", "unknown", "unknown"]
    assert list(DeviceOperation.objects.values_list("id", "status", "history").order_by("id")) == before
    assert "unknown operation" in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        {"activityId": "x"},
        {"activityId": "x", "payload": {"status": "DONE"}},
        {"activityId": "x", "payload": {"status": "RUNNING", "actions": [{"status": "UPDATING", "progress": 140}]}},
    ],
)
def test_unreadable_feedback_is_an_error_on_its_device(device, body):
    feedback_messages_process(messages=[topic_message(device, FEEDBACK, body)])
    (error,) = DeviceMessageError.objects.filter(device=device)
    assert error.source == f"devices/{device.slug}/{FEEDBACK}"


def test_current_state_is_stored_per_device_and_compared_with_the_desired_state(device):
    inventory = {
        "activityId": "",
        "timestamp": 1700000000000,
        "payload": {
            "hardwareNodes": [{"id": "board", "version": "1"}],
            "softwareNodes": [
                {"id": "containers:influxdb", "version": "2.7.1", "type": "CONTAINER"},
                {"id": "containers:grafana", "version": "9.0.0", "type": "CONTAINER"},
                {"id": "containers:old", "version": "1.0", "type": "CONTAINER"},
            ],
            "associations": [{"sourceId": "containers", "targetId": "containers:influxdb"}],
        },
    }
    assert current_state_messages_process(messages=[topic_message(device, "update/currentstate", inventory)]) == 1
    stored = DeviceCurrentState.objects.get(device=device)
    assert stored.org_id == device.org_id
    assert stored.software_nodes[0]["id"] == "containers:influxdb"
    assert stored.associations == inventory["payload"]["associations"]
    # A later report replaces it.
    inventory["payload"]["softwareNodes"] = inventory["payload"]["softwareNodes"][:2]
    current_state_messages_process(messages=[topic_message(device, "update/currentstate", inventory)])
    stored.refresh_from_db()
    assert len(stored.software_nodes) == 2
    difference = state_difference(document=TWO_CONTAINERS, software_nodes=stored.software_nodes)
    assert [(row["component"], row["difference"]) for row in difference] == [
        ("containers:influxdb", "same"),
        ("containers:grafana", "other version"),
    ]
    difference = state_difference(
        document=TWO_CONTAINERS, software_nodes=[{"id": "containers:old", "version": "1"}, {"id": "other:x"}]
    )
    assert [(row["component"], row["difference"]) for row in difference] == [
        ("containers:influxdb", "missing"),
        ("containers:grafana", "missing"),
        ("containers:old", "not desired"),
    ]


def test_a_fleet_rollout_and_its_cancel(device):
    others = [make_device(device.project) for _ in range(2)]
    fleet = make_fleet(device.org, devices=[device, *others])
    desired = make_desired_state(fleet=fleet)
    operations = {op.device_id: op for op in DeviceOperation.objects.filter(batch=desired.batch)}
    assert set(operations) == {device.pk, *(other.pk for other in others)}
    assert desired.device_count == 3
    operations_mark_sent(operation_ids=[operations[device.pk].id])
    feedback_messages_process(
        messages=[topic_message(device, FEEDBACK, feedback(operations[device.pk].id, "COMPLETED"))]
    )
    campaign = desired_state_campaign(desired_state=desired)
    assert {entry["state"]: entry["count"] for entry in campaign["counts"]}["completed"] == 1
    assert campaign["progress"] == pytest.approx(33.3)
    assert campaign["status"] == "Running"
    assert desired_state_cancel(user=ota_manager(device.org), desired_state=desired) == 2
    statuses = dict(DeviceOperation.objects.filter(batch=desired.batch).values_list("device_id", "status"))
    assert statuses == {device.pk: "SUCCEEDED", others[0].pk: "CANCELED", others[1].pk: "CANCELED"}
    campaign = desired_state_campaign(desired_state=desired)
    assert (campaign["status"], campaign["done"]) == ("Canceled", True)
    with pytest.raises(ConflictError):
        desired_state_cancel(user=ota_manager(device.org), desired_state=desired)


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"domains": []},
        {"domains": [{"id": ""}]},
        {"domains": [{"id": "containers"}, {"id": "containers"}]},
        {"domains": [{"id": "c", "components": [{"id": "a", "version": 2}]}]},
        {"domains": [{"id": "c", "components": [{"id": "a"}, {"id": "a"}]}]},
        {"domains": [{"id": "c", "config": [{"key": "k", "value": 1}]}]},
        {"domains": [{"id": "c", "components": [{"id": "a"}]}], "baselines": [{"title": "b", "components": ["c:x"]}]},
    ],
)
def test_a_bad_document_is_refused_and_nothing_is_saved(device, document):
    with pytest.raises(ApplicationError):
        make_desired_state(device=device, document=document)
    assert not DesiredState.objects.exists()
    assert not DeviceOperation.objects.exists()


def test_only_ota_managers_send_desired_states(device):
    with pytest.raises(PermissionDeniedError):
        make_desired_state(device=device, user=make_member(device.org, MEMBER))
    assert not DesiredState.objects.exists()
