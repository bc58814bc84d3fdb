"""desiredstate/ and currentstate/: versions for a device or a fleet, their rollout, cancel, the inventories; and a
Kanto device over HTTP (the operation poll and reply)."""

from __future__ import annotations

import uuid

import pytest

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member
from server.apps.desiredstate.models import DesiredState, DeviceCurrentState
from server.apps.desiredstate.tests.factories import TWO_CONTAINERS, feedback, make_desired_state
from server.apps.device.tests.factories import make_device, make_project
from server.apps.fleet.tests.factories import make_fleet, ota_manager
from server.apps.operation.models import DeviceOperation, OperationStatus
from server.apps.operation.tests.factories import device_client
from server.apps.org.roles import DEVELOPER, MEMBER, OPERATOR, OWNER

DESIRED = "/api/v1/desiredstate/"
CURRENT = "/api/v1/currentstate/"
REPLY = "/api/v1/operation/reply/"
POLL = "/api/v1/operation/poll/"


class TestDesiredStateEndpoint(ScopedEndpointCases):
    list_url = DESIRED
    list_key = "id"
    write_method = None
    allowed_role = DEVELOPER
    denied_role = OWNER
    read_role = OPERATOR
    created_model = DesiredState
    list_query_count = 3  # authentication, count, page
    stored_as = {
        "device": "device.slug",
        "domains": lambda desired: desired.document["domains"],
        "baselines": lambda desired: desired.document["baselines"],
        "transport": lambda desired: DeviceOperation.objects.get(batch=desired.batch).transport,
    }

    def make_object(self, org):
        return make_desired_state(device=make_device(make_project(org)))

    def detail_url(self, obj) -> str:
        return f"{DESIRED}{obj.id}/"

    def create_data(self, org) -> dict:
        device = make_device(make_project(org))
        return {"device": device.slug, "transport": "http", **TWO_CONTAINERS}


class TestDesiredStateRolloutEndpoint(ScopedEndpointCases):
    list_url = None
    write_method = None
    allowed_role = OPERATOR
    denied_role = None

    def make_object(self, org):
        return make_desired_state(device=make_device(make_project(org)))

    def detail_url(self, obj) -> str:
        return f"{DESIRED}{obj.id}/rollout/"


class TestCurrentStateEndpoint(ScopedEndpointCases):
    list_url = CURRENT
    list_key = "device"
    write_method = None
    allowed_role = MEMBER
    denied_role = None
    list_query_count = 3

    def make_object(self, org):
        device = make_device(make_project(org))
        return DeviceCurrentState.objects.create(
            device=device, org=org, software_nodes=[{"id": "containers:influxdb", "version": "2.7.1"}]
        )

    def list_key_value(self, obj) -> str:
        return obj.device.slug

    def detail_url(self, obj) -> str:
        return f"{CURRENT}{obj.device.slug}/"


@pytest.fixture
def device(db):
    return make_device(make_project())


def test_a_fleet_rollout_through_the_api(device):
    other = make_device(device.project)
    fleet = make_fleet(device.org, devices=[device, other])
    client = api_client(ota_manager(device.org))
    response = client.post(DESIRED, {"fleet": fleet.slug, **TWO_CONTAINERS}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["fleet"], body["version"], body["device_count"]) == (fleet.slug, 1, 2)
    rollout = client.get(f"{DESIRED}{body['id']}/rollout/").json()
    assert rollout["targets"] == 2
    assert {row["device"] for row in rollout["devices"]} == {device.slug, other.slug}
    assert client.get(DESIRED, {"fleet": fleet.slug}).json()["count"] == 1
    assert client.get(DESIRED, {"device": device.slug}).json()["count"] == 0  # sent to the fleet, not to it
    owner = api_client(device.org.created_by)  # may read, may not cancel
    assert owner.post(f"{DESIRED}{body['id']}/cancel/").status_code == 403
    canceled = client.post(f"{DESIRED}{body['id']}/cancel/").json()
    assert {entry["state"]: entry["count"] for entry in canceled["counts"]}["canceled"] == 2
    assert client.post(f"{DESIRED}{body['id']}/cancel/").status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"domains": TWO_CONTAINERS["domains"]},  # no target
        {"device": "<device>", "fleet": "g--0000-0000-0001", "domains": TWO_CONTAINERS["domains"]},
        {"device": "<device>", "domains": []},
        {"device": "<device>", "domains": [{"id": "c", "components": "all"}]},
        {"device": "<device>", "domains": "containers"},
        {"device": "<device>", "domains": TWO_CONTAINERS["domains"], "transport": "pigeon"},
        {"device": "<device>", "domains": TWO_CONTAINERS["domains"], "baselines": [{"title": "x", "components": 1}]},
    ],
)
def test_bad_requests_are_400_and_save_nothing(device, body):
    body = {key: device.slug if value == "<device>" else value for key, value in body.items()}
    response = api_client(ota_manager(device.org)).post(DESIRED, body, format="json")
    assert response.status_code == 400, response.content
    assert not DesiredState.objects.exists()
    assert not DeviceOperation.objects.exists()


def test_another_orgs_devices_fleets_and_rollouts_are_out_of_reach(device):
    theirs = make_device(make_project())
    their_fleet = make_fleet(theirs.org, devices=[theirs])
    their_rollout = make_desired_state(device=theirs)
    client = api_client(ota_manager(device.org))
    for target in ({"device": theirs.slug}, {"fleet": their_fleet.slug}):
        assert client.post(DESIRED, {**target, **TWO_CONTAINERS}, format="json").status_code == 400
    assert client.get(f"{DESIRED}{their_rollout.id}/").status_code == 404
    assert client.get(f"{DESIRED}{their_rollout.id}/rollout/").status_code == 404
    assert client.post(f"{DESIRED}{their_rollout.id}/cancel/").status_code == 404
    DeviceCurrentState.objects.create(device=theirs, org=theirs.org)
    assert client.get(f"{CURRENT}{theirs.slug}/").status_code == 404
    assert DesiredState.objects.count() == 1
    assert DeviceOperation.objects.get(batch=their_rollout.batch).status == OperationStatus.PENDING


def test_an_empty_fleet_is_400(device):
    fleet = make_fleet(device.org)
    response = api_client(ota_manager(device.org)).post(DESIRED, {"fleet": fleet.slug, **TWO_CONTAINERS}, format="json")
    assert response.status_code == 400
    assert "fleet" in response.json()


def test_a_kanto_device_over_http_polls_its_desired_state_and_posts_feedback(device):
    desired = make_desired_state(device=device, transport="http")
    operation = DeviceOperation.objects.get(batch=desired.batch)
    client = device_client(device)
    (request,) = client.get(POLL).json()
    assert request["operationId"] == str(operation.id)  # the activityId
    assert request["value"] == TWO_CONTAINERS
    running = feedback(operation.id, "RUNNING", [("containers:influxdb", "UPDATING", 50)])
    assert client.post(REPLY, running, format="json").json()[0]["outcome"] == "progress"
    unknown = feedback(uuid.uuid4(), "COMPLETED")
    done = feedback(operation.id, "COMPLETED", [("containers:influxdb", "UPDATE_SUCCESS", 100)])
    outcomes = client.post(REPLY, [unknown, done], format="json").json()
    assert [item["outcome"] for item in outcomes] == ["unknown", "recorded"]
    operation.refresh_from_db()
    assert operation.status == OperationStatus.SUCCEEDED
    assert operation.result["actions"][0]["status"] == "UPDATE_SUCCESS"
    bad = client.post(REPLY, {"activityId": str(operation.id), "payload": {"status": "WHATEVER"}}, format="json")
    assert bad.status_code == 400
    assert "status" in bad.json()["detail"]


def test_a_plain_member_may_not_send_one(device):
    response = api_client(make_member(device.org, MEMBER)).post(
        DESIRED, {"device": device.slug, **TWO_CONTAINERS}, format="json"
    )
    assert response.status_code == 403
    assert not DesiredState.objects.exists()


INVENTORY = {
    "hardwareNodes": [{"id": "board", "version": "1.0"}],
    "softwareNodes": [{"id": "containers:influxdb", "version": "2.7.1", "type": "CONTAINER"}],
    "associations": [{"sourceId": "containers", "targetId": "containers:influxdb"}],
}


def test_an_inventory_refresh_over_http(device):
    owner = api_client(device.org.created_by)
    body = {"device": device.slug, "kind": "currentstate", "transport": "http", "payload": {}}
    response = owner.post("/api/v1/operation/", body, format="json")
    assert response.status_code == 201, response.json()
    refresh = DeviceOperation.objects.get(kind="currentstate")
    client = device_client(device)
    (request,) = client.get(POLL).json()
    assert (request["operationId"], request["name"]) == (str(refresh.id), "currentstate")
    answer = {"activityId": request["operationId"], "timestamp": 1796083200000, "payload": INVENTORY}
    response = client.post(f"{CURRENT}report/", answer, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["softwareNodes"] == INVENTORY["softwareNodes"]
    stored = DeviceCurrentState.objects.get(device=device)
    assert (stored.activity_id, stored.software_nodes) == (str(refresh.id), INVENTORY["softwareNodes"])
    refresh.refresh_from_db()
    assert refresh.status == OperationStatus.SUCCEEDED
    assert refresh.result == {"activityId": str(refresh.id), "hardwareNodes": 1, "softwareNodes": 1, "associations": 1}
    assert owner.get(f"{CURRENT}{device.slug}/").json()["associations"] == INVENTORY["associations"]


def test_a_newer_refresh_supersedes_and_bad_reports_are_refused(device):
    owner = api_client(device.org.created_by)
    body = {"device": device.slug, "kind": "currentstate", "transport": "http", "payload": {}}
    first = owner.post("/api/v1/operation/", body, format="json").json()
    owner.post("/api/v1/operation/", body, format="json")
    assert DeviceOperation.objects.get(pk=first["id"]).status == OperationStatus.SUPERSEDED
    assert owner.post("/api/v1/operation/", {**body, "payload": {"x": 1}}, format="json").status_code == 400
    client = device_client(device)
    bad = {"activityId": "", "payload": {"softwareNodes": [{"version": "1"}]}}
    assert client.post(f"{CURRENT}report/", bad, format="json").status_code == 400
    assert client.post(f"{CURRENT}report/", {"payload": "x"}, format="json").status_code == 400
    assert not DeviceCurrentState.objects.exists()
    assert DeviceOperation.objects.filter(kind="currentstate", status="PENDING").count() == 1
    # A user's token is not a device's; another organisation may not ask.
    assert owner.post(f"{CURRENT}report/", {"payload": INVENTORY}, format="json").status_code == 403
    stranger = api_client(make_device(make_project()).org.created_by)
    assert stranger.post("/api/v1/operation/", body, format="json").status_code in (400, 404)
    assert DeviceOperation.objects.filter(kind="currentstate").count() == 2
