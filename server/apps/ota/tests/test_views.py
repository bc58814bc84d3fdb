"""Software update pages: scripts and deployments, uploading and deploying, and a deployment's campaign page with
its status JSON and cancel."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import assert_query_count, make_member, make_org
from server.apps.device.tests.factories import make_device, make_project
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.fleet.tests.factories import make_fleet, ota_manager
from server.apps.org.roles import OPERATOR, OWNER
from server.apps.ota.models import DeploymentRequest, DeviceScript
from server.apps.ota.services import VersionReading, deployment_action_record, device_versions_update
from server.apps.ota.tabs import UPDATES_TAB
from server.apps.ota.tests.factories import APP_TAG, make_deployment, make_script, update_script_bytes
from server.apps.ota.tests.virtual_device import version_info


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def list_url(org, name: str = "list") -> str:
    return reverse(f"ota:{name}", kwargs={"org_slug": org.slug})


def campaign_url(deployment, name: str = "campaign", org=None) -> str:
    return reverse(f"ota:{name}", kwargs={"org_slug": (org or deployment.org).slug, "deployment_id": deployment.pk})


@pytest.fixture
def org(db, folder_stores):
    return make_org()


def _campaign(org, devices: int = 4):
    """A deployment to a fleet of ``devices``: the first confirmed, the second applied, the third failed, the
    fourth pending, and one more not eligible (it runs another app)."""
    project = make_project(org)
    members = [make_device(project, label=f"Pump {i}") for i in range(devices + 1)]
    fleet = make_fleet(org, "Pumps", devices=members)
    deployment = make_deployment(
        make_script(org),
        fleet,
        selection_criteria=[f"app_tag:eq:{APP_TAG}"],
        side_effect={"app_tag": APP_TAG, "app_version": "2.1"},
    )
    now = datetime.datetime.now(datetime.UTC)
    device_versions_update(
        device_id=members[-1].id, readings=[VersionReading(0x5C09, version_info(APP_TAG + 1, "1.0"), 1, now)]
    )
    deployment_action_record(deployment=deployment, device=members[0], attempt_successful=True)
    device_versions_update(
        device_id=members[0].id, readings=[VersionReading(0x5C09, version_info(APP_TAG, "2.1"), 2, now)]
    )
    if devices > 1:
        deployment_action_record(deployment=deployment, device=members[1], attempt_successful=True)
    if devices > 2:
        deployment_action_record(deployment=deployment, device=members[2], attempt_successful=False, log="no space")
    return deployment, members


def test_campaign_counts_states_and_messages(org):
    deployment, members = _campaign(org)
    client = logged_in(make_member(org, OPERATOR))
    url = campaign_url(deployment)
    with assert_query_count(7):  # as status.json, and the role
        response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("<tr data-device=") == 5
    assert "cancel-form" not in body  # operators may not cancel
    status = client.get(campaign_url(deployment, "campaign-status")).json()
    counts = {entry["state"]: entry["count"] for entry in status["counts"]}
    assert counts == {"confirmed": 1, "applied": 1, "failed": 1, "pending": 1, "canceled": 0, "not_eligible": 1}
    assert (status["targets"], status["progress"], status["done"], status["status"]) == (4, 25.0, False, "Running")
    rows = {row["device"]: row for row in status["devices"]}
    assert rows[members[2].slug]["message"].endswith("attempt failed: no space")
    assert rows[members[0].slug]["message"].endswith("confirmed by the device's version")


@pytest.mark.parametrize("devices", [1, 8])
def test_campaign_queries_do_not_grow(org, devices):
    deployment, _members = _campaign(org, devices)
    client = logged_in(ota_manager(org))
    url = campaign_url(deployment, "campaign-status")
    with assert_query_count(6):  # session, account, deployment, devices, their versions, actions
        assert client.get(url).status_code == 200


def test_cancel_from_the_campaign_page(org):
    deployment, _members = _campaign(org)
    assert logged_in(make_member(org, OWNER)).post(campaign_url(deployment, "cancel")).status_code == 403
    client = logged_in(ota_manager(org))
    assert "cancel-form" in client.get(campaign_url(deployment)).content.decode()
    assert client.post(campaign_url(deployment, "cancel")).status_code == 302
    deployment.refresh_from_db()
    assert deployment.canceled_on is not None
    status = client.get(campaign_url(deployment, "campaign-status")).json()
    counts = {entry["state"]: entry["count"] for entry in status["counts"]}
    assert (status["status"], status["done"], counts["canceled"], counts["pending"]) == ("Canceled", True, 1, 0)


def test_another_orgs_deployments_are_404(org):
    deployment, _members = _campaign(org, 1)
    outsider = make_org()
    client = logged_in(outsider.created_by)
    for name in ("campaign", "campaign-status"):
        assert client.get(campaign_url(deployment, name)).status_code == 404
        assert client.get(campaign_url(deployment, name, org=outsider)).status_code == 404
    assert client.post(campaign_url(deployment, "cancel")).status_code == 404
    assert client.get(list_url(org)).status_code == 404
    deployment.refresh_from_db()
    assert deployment.canceled_on is None


@pytest.mark.parametrize("rows", [1, 5])
def test_updates_page_lists_with_pinned_queries(org, rows):
    fleet = make_fleet(org)
    for _ in range(rows):
        make_deployment(make_script(org), fleet)
    client = logged_in(ota_manager(org))
    url = list_url(org)
    with assert_query_count(10):
        response = client.get(url)
    body = response.content.decode()
    assert body.count("/deployment/") >= rows
    assert "deployment-form" in body
    assert "script-form" in body


def test_upload_a_script_then_deploy_it(org):
    client = logged_in(ota_manager(org))
    upload = SimpleUploadedFile("fw.trub", update_script_bytes())
    response = client.post(list_url(org, "script-create"), {"name": "Controller", "version": "2.1.0", "file": upload})
    assert response.status_code == 302
    script = DeviceScript.objects.get()
    fleet = make_fleet(org)
    body = {
        "script": script.slug,
        "fleet": fleet.slug,
        "selection_criteria": "app_tag:eq:2049\napp_version:>=:1.2",
        "app_tag": "2049",
        "app_version": "2.1",
        "release": "on",
    }
    response = client.post(list_url(org, "deployment-create"), body)
    deployment = DeploymentRequest.objects.get()
    assert response["Location"] == campaign_url(deployment)
    assert (deployment.fleet_id, deployment.selection_criteria, deployment.side_effect) == (
        fleet.id,
        ["app_tag:eq:2049", "app_version:gte:1.2"],
        {"app_tag": 2049, "app_version": "2.1"},
    )
    assert deployment.released_on is not None
    # Bad criteria come back on the form, and nothing is made.
    response = client.post(list_url(org, "deployment-create"), {**body, "selection_criteria": "os_tag:gt:3"})
    assert response.status_code == 200
    assert "takes only" in response.content.decode()
    assert DeploymentRequest.objects.count() == 1


def test_roles_without_ota_see_no_forms_and_are_refused(org):
    owner = logged_in(make_member(org, OWNER))
    body = owner.get(list_url(org)).content.decode()
    assert "deployment-form" not in body
    assert "script-form" not in body
    upload = SimpleUploadedFile("fw.trub", update_script_bytes())
    data = {"name": "Controller", "version": "2.1.0", "file": upload}
    assert owner.post(list_url(org, "script-create"), data).status_code == 403
    assert not DeviceScript.objects.exists()


class TestUpdatesTab(DeviceTabCases):
    tab = UPDATES_TAB

    def add_rows(self, device, count):
        fleet = make_fleet(device.org, devices=[device])
        now = datetime.datetime.now(datetime.UTC)
        device_versions_update(
            device_id=device.id, readings=[VersionReading(0x5C09, version_info(APP_TAG, "2.0"), 1, now)]
        )
        script = make_script(device.org)
        for number in range(count):
            deployment = make_deployment(script, fleet)
            deployment_action_record(deployment=deployment, device=device, attempt_successful=bool(number % 2))

    def rows_in(self, response):
        return response.context["actions"].paginator.count
