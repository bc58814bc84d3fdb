"""The device's Operations tab in a real browser: presence in the header, a command queued through the form and
answered by the device over HTTP with its own token, its history, an unreadable message shown on the device, a
cancel, and another organisation's device being a 404."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.core.testing import make_org
from server.apps.device.services import device_claim, device_create
from server.apps.operation.models import DeviceOperation
from server.apps.operation.services.inbound import MqttMessage, mqtt_messages_process
from server.apps.operation.tests.factories import device_client
from server.apps.project.services import project_create
from tests.browser.pages import expect_404

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"


@pytest.fixture
def device(transactional_db):
    staff = account_create(email="staff@example.com", password=PASSWORD, is_staff=True)
    owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
    org = make_org(owner=owner, name="Greenhouses")
    project = project_create(org=org, name="North house", created_by=owner)
    return device_claim(user=owner, device=device_create(created_by=staff, label="Gateway 1").slug, project=project)


def test_commands_history_presence_and_errors(page, live_server, sign_in, device):
    owner = device.org.created_by
    sign_in(owner)
    path = f"/org/{device.org.slug}/device/{device.slug}/"
    page.goto(path)
    expect(page.get_by_test_id("device-presence")).to_have_text("Never connected")

    page.get_by_test_id("device-tabs").get_by_role("link", name="Operations").click()
    form = page.get_by_test_id("command-form")
    form.get_by_label("Command").fill("get_app_status()")
    form.get_by_label("Transport").select_option("http")
    form.get_by_role("button", name="Queue").click()
    expect(page.get_by_role("status").first).to_contain_text("Queued command.")
    row = page.get_by_test_id("operation").first
    expect(row).to_have_attribute("data-status", "PENDING")
    expect(row).to_contain_text("get_app_status()")

    # The device polls with its own token and answers.
    client = device_client(device)
    (request,) = client.get("/api/v1/operation/poll/").json()
    reply = {"operationId": request["operationId"], "type": "RESP", "status": "SUCCESS", "value": {"apps": 2}}
    assert client.post("/api/v1/operation/reply/", reply, format="json").json()[0]["outcome"] == "recorded"
    page.reload()
    expect(page.get_by_test_id("device-presence")).to_have_text("Online")
    row = page.get_by_test_id("operation").filter(has_text="get_app_status()")
    expect(row).to_have_attribute("data-status", "SUCCEEDED")
    expect(row).to_contain_text('{"apps": 2}'.replace('"', "'"))
    row.get_by_text("History").click()
    expect(row.get_by_test_id("operation-history").locator("li")).to_have_count(3)
    expect(row.get_by_test_id("operation-history")).to_contain_text("replied")

    # A message the platform cannot read is shown on the device.
    topic = f"devices/{device.slug}/config_resp"
    mqtt_messages_process(messages=[MqttMessage(topic, b"{oops", timezone.now())])
    page.reload()
    expect(page.get_by_test_id("message-errors")).to_contain_text("not JSON")
    expect(page.get_by_test_id("message-errors")).to_contain_text(topic)

    # Another command, canceled from the list.
    form = page.get_by_test_id("command-form")
    form.get_by_label("Command").fill("stop_app('x')")
    form.get_by_role("button", name="Queue").click()
    pending = page.get_by_test_id("operation").filter(has_text="stop_app")
    pending.get_by_test_id("operation-cancel").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("status").first).to_contain_text("Operation canceled.")
    expect(page.get_by_test_id("operation").filter(has_text="stop_app")).to_have_attribute("data-status", "CANCELED")
    assert list(DeviceOperation.objects.values_list("status", flat=True)).count("CANCELED") == 1


def test_another_organisation_s_device_tab_is_a_404(page, live_server, sign_in, device):
    outsider = account_create(email="oscar@example.com", password=PASSWORD)
    make_org(owner=outsider, name="Elsewhere")
    sign_in(outsider)
    expect_404(page, f"/org/{device.org.slug}/device/{device.slug}/operations/")
