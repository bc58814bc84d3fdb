"""Fleets and software updates in a real browser: a developer makes a fleet and adds devices, uploads a script and
deploys it; the campaign page follows the devices (an updater's attempt, a device confirming with its version
stream) without a reload, then the deployment is canceled. Another organisation's pages are 404s."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.core.testing import make_member, make_org
from server.apps.device.services import device_claim, device_create
from server.apps.fleet.models import Fleet
from server.apps.org.roles import DEVELOPER
from server.apps.ota.models import DeploymentRequest
from server.apps.ota.services import VersionReading, deployment_action_record, device_versions_update
from server.apps.ota.tests.factories import APP_TAG, update_script_bytes
from server.apps.ota.tests.virtual_device import version_info
from server.apps.project.services import project_create
from tests.browser.pages import expect_404

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"


@pytest.fixture
def site(transactional_db, folder_stores):
    staff = account_create(email="staff@example.com", password=PASSWORD, is_staff=True)
    owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
    org = make_org(owner=owner, name="Irrigation Co")
    developer = make_member(org, DEVELOPER, email="dev@example.com", password=PASSWORD)
    project = project_create(org=org, name="Orchard", created_by=owner)
    devices = []
    for label in ("Pump north", "Pump south", "Pump east"):
        device = device_create(created_by=staff, label=label)
        devices.append(device_claim(user=owner, device=device.slug, project=project))
    return org, developer, devices


def test_fleet_script_deployment_and_campaign(page, sign_in, site):
    org, developer, devices = site
    north, south, east = devices
    sign_in(developer)

    # A fleet with three pumps, then one taken out again.
    page.goto(f"/org/{org.slug}/")
    page.get_by_role("link", name="Fleets").click()
    form = page.get_by_test_id("fleet-form")
    form.get_by_label("Name").fill("Orchard pumps")
    form.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Orchard pumps")
    for device in devices:
        member_form = page.get_by_test_id("member-form")
        member_form.get_by_label("Device").select_option(device.slug)
        member_form.get_by_role("button", name="Add").click()
        expect(page.get_by_test_id("fleet-members").locator(f'tr[data-device="{device.slug}"]')).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Remove {east.slug}").click()
    expect(page.get_by_test_id("fleet-members").locator("tbody tr")).to_have_count(2)

    # A script, then its deployment to the fleet.
    page.get_by_role("link", name="Updates sent to this fleet").click()
    upload = page.get_by_test_id("script-form")
    upload.get_by_label("Name").fill("Pump controller")
    upload.get_by_label("Version").fill("2.1.0")
    upload.get_by_label("Script file").set_input_files(
        {"name": "controller.trub", "mimeType": "application/octet-stream", "buffer": update_script_bytes()}
    )
    upload.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("script-list")).to_contain_text("Pump controller")
    deploy = page.get_by_test_id("deployment-form")
    deploy.get_by_label("Fleet").select_option(Fleet.objects.get(name="Orchard pumps").slug)
    deploy.get_by_label("Selection criteria").fill(f"app_tag:eq:{APP_TAG}")
    deploy.get_by_label("Installs app tag").fill(str(APP_TAG))
    deploy.get_by_label("Installs app version").fill("2.1")
    deploy.get_by_role("button", name="Deploy").click()
    expect(page).to_have_url(re.compile(r"/deployment/\d+/$"))
    deployment = DeploymentRequest.objects.get()
    campaign = page.get_by_test_id("campaign")
    progress = page.get_by_role("progressbar", name="Devices confirmed")
    expect(progress).to_have_attribute("aria-valuenow", "0")
    expect(campaign.locator('[data-state="pending"] [data-count]')).to_have_text("2")

    # The north pump's updater applies it and the pump reports its new version: the page follows without a reload.
    deployment_action_record(deployment=deployment, device=north, attempt_successful=True)
    now = datetime.datetime.now(datetime.UTC)
    device_versions_update(device_id=north.id, readings=[VersionReading(0x5C09, version_info(APP_TAG, "2.1"), 7, now)])
    deployment_action_record(deployment=deployment, device=south, attempt_successful=False, log="flash busy")
    expect(progress).to_have_attribute("aria-valuenow", "50")
    row = page.get_by_test_id("campaign-devices").locator(f'tr[data-device="{north.slug}"]')
    expect(row.locator('[data-field="state"]')).to_have_text("Confirmed")
    failed = page.get_by_test_id("campaign-devices").locator(f'tr[data-device="{south.slug}"]')
    expect(failed.locator('[data-field="message"]')).to_contain_text("flash busy")
    expect(campaign.locator('[data-state="failed"] [data-count]')).to_have_text("1")

    # Cancelling stops it.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel deployment").click()
    expect(page.locator("[data-campaign-status]")).to_have_text("Canceled")
    deployment.refresh_from_db()
    assert deployment.canceled_on is not None
    page.log.assert_clean()

    # Another organisation sees none of it.
    stranger = make_org(name="Elsewhere").created_by
    sign_in(stranger)
    expect_404(page, f"/org/{org.slug}/deployment/{deployment.pk}/")
    expect_404(page, f"/org/{org.slug}/fleets/")
