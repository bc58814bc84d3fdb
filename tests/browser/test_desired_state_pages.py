"""A desired-state rollout in a real browser: the campaign page follows the devices' Kanto feedback (running, then
completed, one failing with its message) without a reload, the device tab shows the feedback and how the reported
inventory differs from the desired state, and cancelling the rollout cancels its open operations. Another
organisation's rollout is a 404."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.core.testing import make_member, make_org
from server.apps.desiredstate.services import current_state_messages_process, feedback_messages_process
from server.apps.desiredstate.tests.factories import feedback, make_desired_state, topic_message
from server.apps.device.services import device_claim, device_create
from server.apps.fleet.tests.factories import make_fleet
from server.apps.operation.models import DeviceOperation, OperationStatus
from server.apps.operation.services.operations import operations_mark_sent
from server.apps.org.roles import DEVELOPER
from server.apps.project.services import project_create
from tests.browser.pages import expect_404

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"
FEEDBACK = "update/desiredstatefeedback"


@pytest.fixture
def site(transactional_db):
    staff = account_create(email="staff@example.com", password=PASSWORD, is_staff=True)
    owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
    org = make_org(owner=owner, name="Edge Co")
    developer = make_member(org, DEVELOPER, email="dev@example.com", password=PASSWORD)
    project = project_create(org=org, name="Gateways", created_by=owner)
    devices = []
    for label in ("Gateway north", "Gateway south", "Gateway east"):
        device = device_create(created_by=staff, label=label)
        devices.append(device_claim(user=owner, device=device.slug, project=project))
    return org, developer, devices


def test_rollout_campaign_follows_feedback_and_cancels(page, sign_in, site):
    org, developer, devices = site
    north, south, east = devices
    desired = make_desired_state(fleet=make_fleet(org, "Gateways", devices=devices, user=developer), user=developer)
    operations = {op.device_id: op for op in DeviceOperation.objects.filter(batch=desired.batch)}
    operations_mark_sent(operation_ids=[op.id for op in operations.values()])
    sign_in(developer)

    page.goto(f"/org/{org.slug}/desiredstate/{desired.pk}/")
    campaign = page.get_by_test_id("campaign")
    progress = page.get_by_role("progressbar", name="Devices completed")
    expect(progress).to_have_attribute("aria-valuenow", "0")
    expect(campaign.locator('[data-state="sent"] [data-count]')).to_have_text("3")

    # The devices report: the page follows without a reload.
    feedback_messages_process(
        messages=[
            topic_message(
                north,
                FEEDBACK,
                feedback(operations[north.pk].id, "COMPLETED", [("containers:influxdb", "UPDATE_SUCCESS", 100)]),
            ),
            topic_message(south, FEEDBACK, feedback(operations[south.pk].id, "INCOMPLETE", message="disk full")),
        ]
    )
    expect(progress).to_have_attribute("aria-valuenow", "33.3")
    rows = page.get_by_test_id("campaign-devices")
    expect(rows.locator(f'tr[data-device="{north.slug}"] [data-field="state"]')).to_have_text("Completed")
    expect(rows.locator(f'tr[data-device="{north.slug}"] [data-field="feedback"]')).to_have_text("COMPLETED")
    expect(rows.locator(f'tr[data-device="{south.slug}"] [data-field="message"]')).to_have_text("disk full")
    expect(campaign.locator('[data-state="failed"] [data-count]')).to_have_text("1")

    # The north gateway's tab: its feedback, and its inventory beside the desired state.
    inventory = {"activityId": "", "payload": {"softwareNodes": [{"id": "containers:influxdb", "version": "2.7.1"}]}}
    current_state_messages_process(messages=[topic_message(north, "update/currentstate", inventory)])
    page.goto(f"/org/{org.slug}/device/{north.slug}/desiredstate/")
    expect(page.get_by_test_id("latest-feedback")).to_have_text("COMPLETED")
    difference = page.get_by_test_id("state-difference")
    expect(difference.locator('tr[data-component="containers:influxdb"] [data-field="difference"]')).to_have_text(
        "same"
    )
    expect(difference.locator('tr[data-component="containers:grafana"] [data-field="difference"]')).to_have_text(
        "missing"
    )

    # Cancelling the rollout cancels the east gateway's open operation.
    page.get_by_role("link", name=f"#{desired.pk} v1").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel rollout").click()
    expect(page.locator("[data-campaign-status]")).to_have_text("Canceled")
    assert DeviceOperation.objects.get(pk=operations[east.pk].pk).status == OperationStatus.CANCELED
    assert DeviceOperation.objects.get(pk=operations[north.pk].pk).status == OperationStatus.SUCCEEDED
    page.log.assert_clean()

    stranger = make_org(name="Elsewhere").created_by
    sign_in(stranger)
    expect_404(page, f"/org/{org.slug}/desiredstate/{desired.pk}/")
