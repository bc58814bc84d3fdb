"""Over a real Mosquitto with dynamic security: the bridge, per-device logins and their topic rules, presence, and
the five acceptance scenarios of the AWS IoT config-on-connect sample, played by the device simulator."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from server.apps.configattribute.services import config_attribute_create, config_name_create
from server.apps.core.targets import target_for_object
from server.apps.device.tests.factories import make_device, make_project, make_staff
from server.apps.operation.models import DeviceMessageError, DeviceOperation, DevicePresence, OperationStatus
from server.apps.operation.services.credentials import device_mqtt_logins_provision
from server.apps.operation.services.operations import operations_close_overdue
from server.apps.operation.simulator import MqttFleet
from server.apps.operation.tests.factories import make_operation
from server.apps.operation.transports.mqtt import broker_address, new_client
from server.apps.worker.runner import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30.0  # seconds a step may take on a loaded machine before the test gives up


def drive(fleet: MqttFleet, done: Callable[[], bool], *, seconds: float = WAIT) -> None:
    """Run the devices, the worker (in this thread) and the bridge (its own) until ``done()``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        fleet.run(seconds=0.1)
        run_worker(burst=True)
        if done():
            return
    raise AssertionError("the flow did not finish in time")


def config_operations(device) -> list[DeviceOperation]:
    return list(DeviceOperation.objects.filter(device=device, kind="config").order_by("created_on"))


def closed(device, count: int = 1) -> Callable[[], bool]:
    return lambda: sum(not op.is_open for op in config_operations(device)) >= count


def steps(operation: DeviceOperation) -> list[str]:
    return [entry["step"] for entry in operation.history]


@pytest.fixture
def device(transactional_db):
    device = make_device(make_project(name="Greenhouse"), label="Thermostat", external_id="user-42")
    config_name_create(created_by=make_staff(), name=":temperature")
    config_attribute_create(
        user=device.org.created_by, target=target_for_object(device.project), name=":temperature", data=21
    )
    return device


def fleet_for(broker, *devices, mode: str = "answer", reply_delay: float = 0.0) -> MqttFleet:
    logins = device_mqtt_logins_provision(devices=list(devices))
    return MqttFleet(broker=broker_address(broker.platform_url), logins=logins, mode=mode, reply_delay=reply_delay)


@pytest.fixture
def fleets() -> Iterator[list[MqttFleet]]:
    made: list[MqttFleet] = []
    yield made
    for fleet in made:
        fleet.close()


# The AWS sample's five scenarios ------------------------------------------------------------------------------------


def test_1_connect_request_success_within_the_deadline(broker, bridge, device, fleets):
    fleets.append(fleet := fleet_for(broker, device))
    fleet.connect()
    drive(fleet, closed(device))
    (operation,) = config_operations(device)
    assert operation.status == OperationStatus.SUCCEEDED
    assert operation.result == {":temperature": 21}  # the value the device confirmed is stored
    assert operation.payload == {":temperature": 21}
    assert steps(operation) == ["connected", "configuration resolved", "sent", "replied"]
    assert operation.closed_on <= operation.deadline
    request = fleet.records[device.slug].requests[0]
    assert (request["operationId"], request["name"], request["type"]) == (str(operation.id), "SET_CONFIG", "REQ")
    presence = DevicePresence.objects.get(device=device)
    assert presence.online
    assert presence.transport == "mqtt"


def test_2_no_reply_times_out_and_the_row_is_closed(broker, bridge, device, fleets):
    fleets.append(fleet := fleet_for(broker, device, mode="silent"))
    fleet.connect()
    drive(fleet, lambda: any(op.status == OperationStatus.SENT for op in config_operations(device)))
    (operation,) = config_operations(device)
    assert operations_close_overdue(now=operation.deadline + timedelta(seconds=1)) == 1
    operation.refresh_from_db()
    assert operation.status == OperationStatus.TIMED_OUT
    assert operation.closed_on is not None
    assert steps(operation)[-1] == "timed out"
    assert not DeviceOperation.objects.filter(status__in=["PENDING", "SENT"]).exists()


def test_2b_a_missed_heartbeat_times_out_before_the_deadline(broker, bridge, device, fleets, settings):
    settings.CONFIG_ON_CONNECT_HEARTBEAT_SECONDS = 12  # the sample's HeartbeatSeconds
    fleets.append(fleet := fleet_for(broker, device, mode="silent"))
    fleet.connect()
    drive(fleet, lambda: any(op.status == OperationStatus.SENT for op in config_operations(device)))
    (operation,) = config_operations(device)
    assert operation.heartbeat_due < operation.deadline
    assert operations_close_overdue(now=operation.heartbeat_due - timedelta(seconds=1)) == 0
    assert operations_close_overdue(now=operation.heartbeat_due + timedelta(seconds=1)) == 1


def test_3_a_fail_reply_fails_with_the_error_recorded(broker, bridge, device, fleets):
    fleets.append(fleet := fleet_for(broker, device, mode="fail"))
    fleet.connect()
    drive(fleet, closed(device))
    (operation,) = config_operations(device)
    assert (operation.status, operation.error) == (OperationStatus.FAILED, "simulated failure")
    assert operation.history[-1]["detail"] == {"status": "FAIL", "via": "mqtt", "error": "simulated failure"}


class ProfileService(BaseHTTPRequestHandler):
    """Fails its first ``failures`` calls with a 503, then answers a desired temperature."""

    failures = 2
    calls: list[str] = []

    def do_GET(self) -> None:
        type(self).calls.append(self.path)
        if len(self.calls) <= self.failures:
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps({"desired_temperature": 23}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def profile_service(settings) -> Iterator[type[ProfileService]]:
    ProfileService.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProfileService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.CONFIG_PROFILE_URL = f"http://127.0.0.1:{server.server_address[1]}/profile"
    settings.CONFIG_PROFILE_RETRY_SECONDS = 0.05
    yield ProfileService
    server.shutdown()


def test_4_the_profile_service_fails_twice_then_succeeds(broker, bridge, device, fleets, profile_service):
    fleets.append(fleet := fleet_for(broker, device))
    fleet.connect()
    drive(fleet, closed(device))
    (operation,) = config_operations(device)
    assert operation.status == OperationStatus.SUCCEEDED
    assert operation.result == {":temperature": 21, "desired_temperature": 23}
    profile = [entry["detail"] for entry in operation.history if entry["step"] == "profile"]
    assert [attempt["attempt"] for attempt in profile] == [1, 2, 3]
    assert [("error" in attempt, attempt.get("ok")) for attempt in profile] == [
        (True, None),
        (True, None),
        (False, True),
    ]
    assert steps(operation).count("profile retry") == 2
    assert len(profile_service.calls) == 3
    assert f"device={device.slug}" in profile_service.calls[0]
    assert "externalId=user-42" in profile_service.calls[0]


def test_4b_a_profile_service_that_keeps_failing_fails_the_operation(broker, bridge, device, fleets, profile_service):
    profile_service.failures = 99
    try:
        fleets.append(fleet := fleet_for(broker, device))
        fleet.connect()
        drive(fleet, closed(device))
    finally:
        profile_service.failures = 2
    (operation,) = config_operations(device)
    assert operation.status == OperationStatus.FAILED
    assert "failed 3 times" in operation.error
    assert fleet.records[device.slug].requests == []  # nothing was sent


@pytest.mark.parametrize("mode", ["duplicate", "unknown"])
def test_5_a_duplicate_or_unknown_operation_id_changes_nothing(broker, bridge, device, fleets, mode, caplog):
    fleets.append(fleet := fleet_for(broker, device, mode=mode))
    fleet.connect()
    if mode == "duplicate":
        drive(fleet, lambda: closed(device)() and len(fleet.records[device.slug].replied_at) == 2)
        drive(fleet, lambda: "already SUCCEEDED, ignored" in caplog.text)
        (operation,) = config_operations(device)
        assert operation.status == OperationStatus.SUCCEEDED
        assert steps(operation).count("replied") == 1
    else:
        drive(fleet, lambda: "reply for unknown operation" in caplog.text)
        (operation,) = config_operations(device)
        assert operation.status == OperationStatus.SENT
        assert steps(operation)[-1] == "sent"
    assert DeviceOperation.objects.count() == 1


# Presence, reconnects, bad messages -------------------------------------------------------------------------------


def test_a_reconnect_supersedes_the_open_configuration(broker, bridge, device, fleets):
    fleets.append(fleet := fleet_for(broker, device, mode="silent"))
    fleet.connect()
    drive(fleet, lambda: any(op.status == OperationStatus.SENT for op in config_operations(device)))
    fleet.disconnect(clean=False)  # the broker publishes the last will
    drive(fleet, lambda: not DevicePresence.objects.get(device=device).online)
    fleet.connect()
    drive(fleet, lambda: len(config_operations(device)) == 2 and config_operations(device)[1].status == "SENT")
    first, second = config_operations(device)
    assert first.status == OperationStatus.SUPERSEDED
    assert second.status == OperationStatus.SENT
    assert DevicePresence.objects.get(device=device).online


def test_a_malformed_message_is_an_error_on_the_device_and_the_bridge_goes_on(broker, bridge, device, fleets):
    fleets.append(fleet := fleet_for(broker, device, mode="malformed"))
    fleet.connect()
    drive(fleet, lambda: DeviceMessageError.objects.filter(device=device).exists())
    problem = DeviceMessageError.objects.get(device=device)
    assert problem.source == f"devices/{device.slug}/config_resp"
    assert "not JSON" in problem.error
    assert problem.excerpt.startswith("{this is not json")
    # The bridge still reads what comes next: a good answer closes the operation.
    (operation,) = config_operations(device)
    fleet.publish_raw(
        device.slug, "config_resp", json.dumps({"operationId": str(operation.id), "status": "SUCCESS"}).encode()
    )
    drive(fleet, closed(device))
    fleet.publish_raw(device.slug, "presence", b'{"status": "sleepy"}')
    drive(fleet, lambda: DeviceMessageError.objects.filter(device=device).count() == 2)


def test_a_device_login_reaches_only_its_own_topics(broker, bridge, device, fleets):
    other = make_device(device.project)
    theirs = make_operation(other, kind="config", payload={"x": 1}, transport="mqtt", name="SET_X")
    logins = device_mqtt_logins_provision(devices=[device, other])
    address = broker_address(broker.platform_url)
    # A wrong password is refused.
    intruder = MqttFleet(broker=address, logins={device.slug: "wrong"})
    intruder.connect()
    intruder.run(seconds=WAIT, until=lambda fleet: bool(fleet.refused))
    assert intruder.refused
    intruder.close()
    # The device's own login may not subscribe to the other's topics ...
    granted: list = []
    spy = new_client(
        type(address)(address.host, address.port, device.slug, logins[device.slug], False), f"spy-{uuid.uuid4()}"
    )
    spy.on_subscribe = lambda client, userdata, mid, codes, properties: granted.extend(codes)
    spy.connect(address.host, address.port)
    spy.loop_start()
    try:
        spy.subscribe([(f"devices/{other.slug}/#", 1), ("devices/#", 1), (f"devices/{device.slug}/#", 1)])
        end = time.monotonic() + WAIT
        while len(granted) < 3 and time.monotonic() < end:
            time.sleep(0.05)
        assert [code.is_failure for code in granted] == [True, True, False]
        # ... nor answer for it: the broker drops the publish, the other device's operation stays open.
        fake = {"operationId": str(theirs.id), "status": "SUCCESS", "type": "RESP"}
        spy.publish(f"devices/{other.slug}/config_resp", json.dumps(fake), qos=1).wait_for_publish(WAIT)
        # Its own topic does reach the platform: published after the refused one, it arrives after it would have.
        spy.publish(f"devices/{device.slug}/config_resp", json.dumps({**fake}), qos=1).wait_for_publish(WAIT)
    finally:
        spy.disconnect()
        spy.loop_stop()
    end = time.monotonic() + WAIT
    while bridge.stats.messages < 1 and time.monotonic() < end:
        time.sleep(0.05)
    assert DeviceOperation.objects.get(pk=theirs.pk).status == OperationStatus.PENDING
    assert bridge.stats.messages == 1  # only the message on its own topic got through (an unknown id for it)


def test_timed_out_rows_from_a_whole_fleet_are_closed_at_once(transactional_db):
    devices = [make_device(make_project()) for _ in range(3)]
    for each in devices:
        make_operation(each, deadline_seconds=1)
    assert operations_close_overdue(now=timezone.now() + timedelta(seconds=2)) == 3
    assert set(DeviceOperation.objects.values_list("status", flat=True)) == {OperationStatus.TIMED_OUT}


def test_the_mqtt_login_endpoint(broker, device):
    from server.apps.core.testing import api_client, make_member
    from server.apps.org.roles import OPERATOR

    url = "/api/v1/operation/mqtt-login/"
    response = api_client(device.org.created_by).post(url, {"device": device.slug}, format="json")
    assert response.status_code == 200, response.content
    first = response.json()
    assert (first["username"], first["topics"]) == (device.slug, f"devices/{device.slug}/#")
    again = api_client(device.org.created_by).post(url, {"device": device.slug}, format="json").json()
    assert again["password"] == first["password"]
    rotated = api_client(device.org.created_by).post(url, {"device": device.slug, "rotate": True}, format="json")
    assert rotated.json()["password"] != first["password"]
    assert api_client(make_member(device.org, OPERATOR)).post(url, {"device": device.slug}).status_code == 403
    outsider = make_device(make_project()).org.created_by
    assert api_client(outsider).post(url, {"device": device.slug}).status_code == 404
    # The new password works on the broker, the old one no longer.
    address = broker_address(broker.platform_url)
    fleet = MqttFleet(broker=address, logins={device.slug: rotated.json()["password"]}, birth=False)
    fleet.connect()
    fleet.run(seconds=WAIT, until=lambda f: f.all_connected() or bool(f.refused))
    assert fleet.all_connected()
    fleet.close()
    stale = MqttFleet(broker=address, logins={device.slug: first["password"]}, birth=False)
    stale.connect()
    stale.run(seconds=WAIT, until=lambda f: bool(f.refused))
    assert stale.refused
    stale.close()


def test_the_simulator_command_connects_devices_over_mqtt(broker, bridge, device):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "simulate_device", "--device", device.slug, "--duration", "3", "--broker", broker.platform_url, stdout=out
    )
    assert "1 devices connected" in out.getvalue()
    end = time.monotonic() + WAIT
    while not DevicePresence.objects.filter(device=device).exists() and time.monotonic() < end:
        time.sleep(0.1)
    # It connected (birth), then said goodbye cleanly (offline), and its configuration was queued.
    assert config_operations(device)
