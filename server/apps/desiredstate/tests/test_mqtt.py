"""Kanto devices over a real Mosquitto with dynamic security, through the bridge and the worker, played by the
simulator: the update manager's acceptance scenarios (two containers completed and in the inventory; v2 while v1
runs supersedes v1; a failure keeps the device's message; feedback for an unknown activity is logged and ignored),
slow progress, and a fleet rollout."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from server.apps.desiredstate.models import DeviceCurrentState
from server.apps.desiredstate.selectors import desired_state_campaign
from server.apps.desiredstate.tests.factories import TWO_CONTAINERS, make_desired_state
from server.apps.device.tests.factories import make_device, make_project
from server.apps.fleet.tests.factories import make_fleet
from server.apps.operation.models import DeviceMessageError, DeviceOperation, OperationStatus
from server.apps.operation.services.credentials import device_mqtt_logins_provision
from server.apps.operation.services.operations import operation_create, operation_request_clean
from server.apps.operation.simulator import MqttFleet, kanto_feedback
from server.apps.operation.transports.mqtt import broker_address
from server.apps.worker.runner import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30.0
FEEDBACK = "update/desiredstatefeedback"


def drive(fleet: MqttFleet, done: Callable[[], bool], *, seconds: float = WAIT) -> None:
    """Run the devices, the worker (in this thread) and the bridge (its own) until ``done()``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        fleet.run(seconds=0.1)
        run_worker(burst=True)
        if done():
            return
    raise AssertionError("the flow did not finish in time")


def operation_of(desired) -> DeviceOperation:
    return DeviceOperation.objects.get(batch=desired.batch)


@pytest.fixture
def device(transactional_db):
    return make_device(make_project(name="Edge"), label="Gateway")


@pytest.fixture
def fleets() -> Iterator[list[MqttFleet]]:
    made: list[MqttFleet] = []
    yield made
    for fleet in made:
        fleet.close()


def kanto_fleet(broker, fleets, *devices, mode: str = "answer", reply_delay: float = 0.0) -> MqttFleet:
    logins = device_mqtt_logins_provision(devices=list(devices))
    fleet = MqttFleet(
        broker=broker_address(broker.platform_url), logins=logins, mode=mode, reply_delay=reply_delay, birth=False
    )
    fleets.append(fleet)
    fleet.connect()
    fleet.run(seconds=10, until=MqttFleet.all_connected)
    return fleet


def test_1_two_containers_complete_and_appear_in_the_inventory(broker, bridge, device, fleets):
    fleet = kanto_fleet(broker, fleets, device)
    desired = make_desired_state(device=device)
    drive(
        fleet, lambda: not operation_of(desired).is_open and DeviceCurrentState.objects.filter(device=device).exists()
    )
    operation = operation_of(desired)
    assert operation.status == OperationStatus.SUCCEEDED
    assert operation.result["status"] == "COMPLETED"
    assert [(a["component"]["id"], a["status"]) for a in operation.result["actions"]] == [
        ("containers:influxdb", "UPDATE_SUCCESS"),
        ("containers:grafana", "UPDATE_SUCCESS"),
    ]
    # RUNNING (and IDENTIFIED) came first, as progress.
    progress = [entry["detail"]["status"] for entry in operation.history if entry["step"] == "progress"]
    assert progress == ["IDENTIFIED", "RUNNING"]
    # The device got Kanto's envelope on Kanto's topic, with the operation's id as its activityId.
    (request,) = fleet.records[device.slug].requests
    assert request == {"activityId": str(operation.id), "timestamp": request["timestamp"], "payload": TWO_CONTAINERS}
    inventory = {node["id"]: node["version"] for node in DeviceCurrentState.objects.get(device=device).software_nodes}
    assert inventory["containers:influxdb"] == "2.7.1"
    assert inventory["containers:grafana"] == "10.2.0"


def test_2_v2_sent_while_v1_runs_supersedes_v1(broker, bridge, device, fleets):
    fleet = kanto_fleet(broker, fleets, device, mode="supersede")
    v1 = make_desired_state(device=device)
    drive(fleet, lambda: (operation_of(v1).result or {}).get("status") == "RUNNING")
    document = {"domains": [{"id": "containers", "components": [{"id": "influxdb", "version": "2.8.0"}]}]}
    v2 = make_desired_state(device=device, document=document)
    drive(fleet, lambda: not operation_of(v2).is_open)
    assert operation_of(v1).status == OperationStatus.SUPERSEDED
    assert operation_of(v2).status == OperationStatus.SUCCEEDED
    # The device's own SUPERSEDED report for v1 arrived after the platform closed it: nothing changed.
    assert [entry["step"] for entry in operation_of(v1).history][-1] == "superseded"


def test_a_failure_ends_failed_with_the_devices_message(broker, bridge, device, fleets):
    fleet = kanto_fleet(broker, fleets, device, mode="fail")
    desired = make_desired_state(device=device)
    drive(fleet, lambda: not operation_of(desired).is_open)
    operation = operation_of(desired)
    assert operation.status == OperationStatus.FAILED
    assert operation.error == "simulated failure: checksum mismatch"
    assert operation.result["status"] == "INCOMPLETE"
    assert {action["status"] for action in operation.result["actions"]} == {"UPDATE_FAILURE"}


def test_5_feedback_for_an_unknown_activity_is_logged_and_ignored(broker, bridge, device, fleets, caplog):
    fleet = kanto_fleet(broker, fleets, device, mode="silent")
    desired = make_desired_state(device=device)
    drive(fleet, lambda: operation_of(desired).status == OperationStatus.SENT)
    before = operation_of(desired)
    with caplog.at_level(logging.WARNING):
        fleet.publish_raw(
            device.slug, FEEDBACK, kanto_feedback(str(uuid.uuid4()), "COMPLETED", TWO_CONTAINERS, "UPDATE_SUCCESS", 100)
        )
        fleet.publish_raw(device.slug, FEEDBACK, b'{"activityId": "x", "payload": {"status": "NOT_KANTO"}}')
        drive(
            fleet,
            lambda: DeviceMessageError.objects.filter(device=device).exists() and "unknown operation" in caplog.text,
        )
    after = operation_of(desired)
    assert (after.status, after.result, after.history) == (before.status, before.result, before.history)
    (error,) = DeviceMessageError.objects.filter(device=device)
    assert "NOT_KANTO" in error.error


def test_slow_progress_is_recorded_step_by_step(broker, bridge, device, fleets):
    fleet = kanto_fleet(broker, fleets, device, mode="slow", reply_delay=0.2)
    desired = make_desired_state(device=device)
    drive(fleet, lambda: not operation_of(desired).is_open)
    operation = operation_of(desired)
    assert operation.status == OperationStatus.SUCCEEDED
    progress = [entry["detail"]["status"] for entry in operation.history if entry["step"] == "progress"]
    assert progress == ["IDENTIFIED", "RUNNING", "RUNNING", "RUNNING", "RUNNING"]


def test_a_fleet_rollout_completes_on_every_device(broker, bridge, device, fleets):
    members = [device, *(make_device(device.project) for _ in range(4))]
    fleet = kanto_fleet(broker, fleets, *members)
    desired = make_desired_state(fleet=make_fleet(device.org, devices=members))
    drive(fleet, lambda: desired_state_campaign(desired_state=desired)["done"])
    campaign = desired_state_campaign(desired_state=desired)
    assert (campaign["status"], campaign["progress"], campaign["targets"]) == ("Completed", 100.0, 5)
    assert DeviceCurrentState.objects.filter(device__in=members).count() == 5
    assert json.loads(json.dumps(campaign))["counts"][0] == {"state": "completed", "label": "Completed", "count": 5}


def test_an_inventory_refresh_is_answered_on_the_currentstate_topic(broker, bridge, device, fleets):
    fleet = kanto_fleet(broker, fleets, device)
    desired = make_desired_state(device=device)
    drive(
        fleet, lambda: not operation_of(desired).is_open and DeviceCurrentState.objects.filter(device=device).exists()
    )
    DeviceCurrentState.objects.filter(device=device).delete()  # forgotten: ask the device again
    request = operation_request_clean(kind="currentstate", payload={}, transport="mqtt")
    refresh = operation_create(user=device.org.created_by, device=device, request=request)
    drive(fleet, lambda: not DeviceOperation.objects.get(pk=refresh.pk).is_open)
    refresh.refresh_from_db()
    assert refresh.status == OperationStatus.SUCCEEDED, refresh.history
    asked = [r for r in fleet.records[device.slug].requests if r.get("activityId") == str(refresh.id)]
    (ask,) = asked
    assert ask["payload"] == {}
    state = DeviceCurrentState.objects.get(device=device)
    assert state.activity_id == str(refresh.id)
    assert {"containers:influxdb", "containers:grafana"} <= {node["id"] for node in state.software_nodes}
