from __future__ import annotations

import datetime
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_member, make_org
from server.apps.device.services import device_unclaim
from server.apps.device.tests.factories import make_device, make_project
from server.apps.fleet.models import Fleet
from server.apps.fleet.tests.factories import make_fleet, ota_manager
from server.apps.org.roles import DEVELOPER, MEMBER, OPERATOR, OWNER
from server.apps.org.services import org_delete
from server.apps.ota.models import SCRIPT_STORE, DeploymentAction, DeploymentRequest, DeviceScript
from server.apps.ota.services import VersionReading, deployment_action_record, device_versions_update
from server.apps.ota.tests.factories import make_deployment, make_script, update_script_bytes
from server.apps.ota.tests.virtual_device import version_info
from server.apps.stores.selectors import store_file_read

SCRIPTS = "/api/v1/ota/script/"
REQUESTS = "/api/v1/ota/request/"
ACTIONS = "/api/v1/ota/action/"
DEVICES = "/api/v1/ota/device/"
VERSIONS = "/api/v1/ota/version/"
UPDATER_DATE = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture(autouse=True)
def _stores(folder_stores):
    return folder_stores


def _fleet_device(org):
    device = make_device(make_project(org))
    return make_fleet(org, devices=[device]), device


class TestScriptEndpoint(ScopedEndpointCases):
    list_url = SCRIPTS
    list_key = "slug"
    list_query_count = 3
    allowed_role = DEVELOPER
    denied_role = OWNER
    read_role = OPERATOR

    def make_object(self, org):
        return make_script(org)

    def detail_url(self, obj) -> str:
        return f"{SCRIPTS}{obj.slug}/"

    def write_data(self, obj) -> dict:
        return {"name": "Renamed", "notes": "Fixes the clock", "released": True}


class TestScriptFileEndpoint(ScopedEndpointCases):
    write_method = None
    allowed_role = OPERATOR

    def make_object(self, org):
        return make_script(org)

    def detail_url(self, obj) -> str:
        return f"{SCRIPTS}{obj.slug}/file/"

    def get_list_url(self, obj) -> None:
        return None


class TestDeploymentEndpoint(ScopedEndpointCases):
    list_url = REQUESTS
    list_key = "id"
    list_query_count = 3
    allowed_role = DEVELOPER
    denied_role = OWNER
    read_role = MEMBER
    created_model = DeploymentRequest
    stored_as = {
        "script": "script.slug",
        "fleet": "fleet.slug",
        "released_on": lambda d: d.released_on.strftime(UPDATER_DATE),
    }

    def make_object(self, org):
        fleet, _device = _fleet_device(org)
        return make_deployment(make_script(org), fleet, selection_criteria=["os_tag:eq:1024"])

    def detail_url(self, obj) -> str:
        return f"{REQUESTS}{obj.id}/"

    def write_data(self, obj) -> dict:
        return {"selection_criteria": ["app_version:gte:1.2", "os_tag:eq:1024"], "side_effect": {"app_version": "2.1"}}

    def create_data(self, org) -> dict:
        fleet, _device = _fleet_device(org)
        return {
            "script": make_script(org).slug,
            "fleet": fleet.slug,
            "selection_criteria": ["app_tag:eq:2049", "app_version:lt:2.1"],
            "side_effect": {"app_tag": 2049, "app_version": "2.1"},
            "released_on": "2026-12-01T10:00:00Z",
        }


class TestDeploymentActionEndpoint(ScopedEndpointCases):
    list_url = ACTIONS
    list_key = "id"
    list_query_count = 3
    write_method = None
    allowed_role = OPERATOR  # any member's updater reports its attempts
    denied_role = None
    created_model = DeploymentAction
    stored_as = {
        "deployment": "deployment_id",
        "device": "device.slug",
        "last_attempt_on": lambda a: a.last_attempt_on.strftime(UPDATER_DATE),
    }

    def make_object(self, org):
        fleet, device = _fleet_device(org)
        deployment = make_deployment(make_script(org), fleet)
        return deployment_action_record(deployment=deployment, device=device, attempt_successful=False)

    def detail_url(self, obj) -> str:
        return f"{ACTIONS}{obj.id}/"

    def create_data(self, org) -> dict:
        fleet, device = _fleet_device(org)
        deployment = make_deployment(make_script(org), fleet)
        return {
            "deployment": deployment.id,
            "device": device.slug,
            "attempt_successful": True,
            "last_attempt_on": "2026-12-06T19:00:00Z",
        }


class TestOtaDeviceEndpoint(ScopedEndpointCases):
    write_method = None
    allowed_role = OPERATOR

    def make_object(self, org):
        fleet, device = _fleet_device(org)
        make_deployment(make_script(org), fleet)
        return device

    def detail_url(self, obj) -> str:
        return f"{DEVICES}{obj.slug}/"

    def get_list_url(self, obj) -> None:
        return None


class TestDeviceVersionEndpoint(ScopedEndpointCases):
    list_url = VERSIONS
    list_key = "id"
    list_query_count = 3
    write_method = None
    allowed_role = OPERATOR

    def make_object(self, org):
        device = make_device(make_project(org))
        reading = VersionReading(0x5C09, version_info(2049, "2.0"), 5, datetime.datetime.now(datetime.UTC))
        (attribute,) = device_versions_update(device_id=device.id, readings=[reading])
        return attribute

    def detail_url(self, obj) -> str:
        return f"{VERSIONS}{obj.id}/"


@pytest.fixture
def org(db):
    return make_org()


def test_ota_device_lists_open_deployments_for_the_updater(org):
    fleet, device = _fleet_device(org)
    script = make_script(org)
    open_one = make_deployment(
        script, fleet, selection_criteria=["app_version:gte:1.2", "os_version:lte:2.0.1", "os_tag:eq:1024"]
    )
    everywhere = make_deployment(make_script(org), None)
    make_deployment(script, fleet, released=False)  # not released yet
    make_deployment(script, make_fleet(org))  # another fleet
    applied = make_deployment(script, fleet)
    deployment_action_record(deployment=applied, device=device, attempt_successful=True)
    client = api_client(make_member(org, OPERATOR))
    with assert_query_count(4):  # authentication, the device, its versions, the deployments
        body = client.get(f"{DEVICES}{device.slug}/").json()
    assert body["slug"] == device.slug
    assert [d["id"] for d in body["deployments"]] == [open_one.id, everywhere.id]
    first = body["deployments"][0]
    assert first["script"] == script.slug
    # The updater's spellings: gteq/lteq and X.Y.Z versions; dates without fractions.
    assert first["selection_criteria"] == ["app_version:gteq:1.2.0", "os_version:lteq:2.0.1", "os_tag:eq:1024"]
    assert first["completed_on"] is None
    assert datetime.datetime.strptime(first["released_on"], UPDATER_DATE)


def test_script_file_url_downloads_without_credentials(org):
    content = update_script_bytes()
    script = make_script(org, content=content)
    assert script.file_sha256 == hashlib.sha256(content).hexdigest()
    assert store_file_read(store=SCRIPT_STORE, key=script.file_key) == content
    url = api_client(make_member(org, OPERATOR)).get(f"{SCRIPTS}{script.slug}/file/").json()["url"]
    assert url.startswith("http://testserver/stores/files/")
    response = Client().get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    # A damaged link is a 404.
    assert Client().get(url.replace("/files/", "/files/x")).status_code == 404


def test_signed_links_expire(org, settings, monkeypatch):
    script = make_script(org)
    url = api_client(make_member(org, OPERATOR)).get(f"{SCRIPTS}{script.slug}/file/").json()["url"]
    import time

    later = time.time() + 3601
    monkeypatch.setattr(time, "time", lambda: later)
    assert Client().get(url).status_code == 404


def test_script_upload_by_multipart(org):
    client = api_client(ota_manager(org))
    content = update_script_bytes("3.0")
    upload = SimpleUploadedFile("fw 3.0.trub", content, content_type="application/octet-stream")
    body = {"name": "Firmware", "version": "3.0.0", "org": org.slug, "file": upload, "released": "true"}
    response = client.post(SCRIPTS, body, format="multipart")
    assert response.status_code == 201, response.content
    script = DeviceScript.objects.get(slug=response.json()["slug"])
    assert (script.name, script.version, script.released, script.file_name) == (
        "Firmware",
        "v3.0.0",
        True,
        "fw_3.0.trub",
    )
    assert store_file_read(store=SCRIPT_STORE, key=script.file_key) == content
    # The same version again is a conflict; another organisation and a role without OTA get nothing.
    again = SimpleUploadedFile("a.trub", content)
    assert client.post(SCRIPTS, {**body, "file": again}, format="multipart").status_code == 409
    for user, status in ((make_member(org, OWNER), 403), (make_org().created_by, 400)):
        upload = SimpleUploadedFile("b.trub", content)
        response = api_client(user).post(SCRIPTS, {**body, "version": "3.0.1", "file": upload}, format="multipart")
        assert response.status_code == status
    assert DeviceScript.objects.count() == 1


@pytest.mark.parametrize(
    "criteria",
    [["os_tag:gt:5"], ["nope:eq:1"], ["app_version:gte:two"], ["os_tag"], "os_tag:eq:1", [5], ["os_tag:eq:99999999"]],
)
def test_bad_selection_criteria_are_400(org, criteria):
    fleet, _device = _fleet_device(org)
    body = {"script": make_script(org).slug, "fleet": fleet.slug, "selection_criteria": criteria}
    response = api_client(ota_manager(org)).post(REQUESTS, body, format="json")
    assert response.status_code == 400, response.content
    assert not DeploymentRequest.objects.exists()


def test_deployment_names_only_visible_objects(org):
    other = make_org()
    foreign_fleet, _device = _fleet_device(other)
    client = api_client(ota_manager(org))
    bodies = [
        {"script": make_script(other).slug},
        {"script": make_script(org).slug, "fleet": foreign_fleet.slug},
        {"script": "z--nope"},
    ]
    for body in bodies:
        assert client.post(REQUESTS, body, format="json").status_code == 400
    assert not DeploymentRequest.objects.exists()


def test_cancel_hides_the_deployment_from_devices(org):
    fleet, device = _fleet_device(org)
    deployment = make_deployment(make_script(org), fleet)
    client = api_client(ota_manager(org))
    assert client.post(f"{REQUESTS}{deployment.id}/cancel/").status_code == 200
    deployment.refresh_from_db()
    assert deployment.canceled_on is not None
    assert deployment.completed_on is not None
    assert client.get(f"{DEVICES}{device.slug}/").json()["deployments"] == []
    assert api_client(make_member(org, OWNER)).post(f"{REQUESTS}{deployment.id}/cancel/").status_code == 403


def test_action_for_a_device_the_deployment_is_not_for_is_400(org):
    fleet, _device = _fleet_device(org)
    deployment = make_deployment(make_script(org), fleet)
    outsider_device = make_device(make_project(org))
    body = {"deployment": deployment.id, "device": outsider_device.slug, "attempt_successful": True}
    response = api_client(make_member(org, OPERATOR)).post(ACTIONS, body, format="json")
    assert response.status_code == 400
    assert not DeploymentAction.objects.exists()


def test_repeated_attempts_keep_one_action(org):
    fleet, device = _fleet_device(org)
    deployment = make_deployment(make_script(org), fleet)
    client = api_client(make_member(org, OPERATOR))
    for successful in (False, True):
        body = {"deployment": deployment.id, "device": device.slug, "attempt_successful": successful}
        assert client.post(ACTIONS, body, format="json").status_code == 201
    action = DeploymentAction.objects.get()
    assert (action.attempts, action.attempt_successful) == (2, True)
    assert "attempt failed" in action.log
    assert "attempt succeeded" in action.log


def test_a_device_token_reaches_its_own_updates_only(org):
    project = make_project(org)
    mine, other = make_device(project), make_device(project)
    fleet = make_fleet(org, devices=[mine])
    others = make_fleet(org, devices=[other])
    script = make_script(org)
    for_mine, for_other = make_deployment(script, fleet), make_deployment(script, others)
    token = api_client(ota_manager(org)).get(f"/api/v1/device/{mine.slug}/key/?type=a-jwt").json()["key"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"a-jwt {token}")

    assert [d["id"] for d in client.get(f"{DEVICES}{mine.slug}/").json()["deployments"]] == [for_mine.id]
    assert client.get(f"{DEVICES}{other.slug}/").status_code == 404
    assert [row["slug"] for row in client.get("/api/v1/fleet/").json()["results"]] == [fleet.slug]
    assert client.get(f"/api/v1/fleet/{others.slug}/devices/").status_code == 404
    assert client.get(f"{SCRIPTS}{script.slug}/file/").status_code == 200
    body = {"deployment": for_other.id, "device": other.slug, "attempt_successful": True}
    assert client.post(ACTIONS, body, format="json").status_code == 400
    body = {"deployment": for_mine.id, "device": mine.slug, "attempt_successful": True}
    assert client.post(ACTIONS, body, format="json").status_code == 201
    assert list(DeploymentAction.objects.values_list("device_id", flat=True)) == [mine.id]
    # Managing updates stays out of its reach.
    assert client.post(f"{REQUESTS}{for_mine.id}/cancel/").status_code in (403, 404)
    assert client.post("/api/v1/fleet/", {"name": "x", "org": org.slug}, format="json").status_code == 403


def test_deletes_keep_the_record_of_deployments(org):
    fleet, device = _fleet_device(org)
    script = make_script(org)
    deployment = make_deployment(script, fleet)
    deployment_action_record(deployment=deployment, device=device, attempt_successful=True)
    client = api_client(ota_manager(org))
    assert client.delete(f"/api/v1/fleet/{fleet.slug}/").status_code == 409
    assert client.delete(f"{SCRIPTS}{script.slug}/").status_code == 409
    assert client.delete(f"{REQUESTS}{deployment.id}/").status_code == 204
    assert not DeploymentAction.objects.exists()
    assert client.delete(f"{SCRIPTS}{script.slug}/").status_code == 204
    assert not DeviceScript.objects.exists()


def test_an_organisation_with_updates_but_no_devices_can_be_deleted(org):
    fleet, device = _fleet_device(org)
    make_deployment(make_script(org), fleet)
    device_unclaim(device=device)
    org_delete(org=org)
    assert not Fleet.objects.exists()
    assert not DeploymentRequest.objects.exists()
