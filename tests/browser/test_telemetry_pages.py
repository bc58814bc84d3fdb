"""The raw message log in a real browser: messages posted over HTTP telemetry show with their correlation ids and
outcomes, the search narrows them by device and by time, and another organisation's log is a 404."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from server.apps.authentication.services import account_create
from server.apps.core.testing import make_org
from server.apps.device.services import device_claim, device_create
from server.apps.deviceauth.services import device_token_issue
from server.apps.project.services import project_create
from server.apps.telemetry.models import RawMessage
from tests.browser.pages import expect_404

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"


def post(device, body) -> dict:
    token = device_token_issue(user=device.org.created_by, device=device)
    response = APIClient().post(f"/api/v1/{token}/telemetry", data=json.dumps(body), content_type="application/json")
    return response.json()


@pytest.fixture
def devices(transactional_db):
    staff = account_create(email="staff@example.com", password=PASSWORD, is_staff=True)
    owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
    org = make_org(owner=owner, name="Orchards")
    project = project_create(org=org, name="North block", created_by=owner)
    return [
        device_claim(user=owner, device=device_create(created_by=staff, label=label).slug, project=project)
        for label in ("Weather station", "Soil probe")
    ]


def test_the_raw_log_is_searched_by_device_and_time(page, live_server, sign_in, devices):
    station, probe = devices
    first = post(station, {"ts": 1_767_225_600_000, "values": {"temperature": 18.5}})
    post(probe, {"moisture": 31})
    post(probe, {"moisture": "wet"})  # refused: kept raw
    sign_in(station.org.created_by)
    page.goto(f"/org/{station.org.slug}/")
    page.get_by_test_id("org-raw-messages").click()
    rows = page.get_by_test_id("raw-message")
    expect(rows).to_have_count(3)
    expect(page.locator('[data-testid="raw-message"][data-status="refused"]')).to_contain_text("not a number")

    filters = page.get_by_test_id("raw-filters")
    filters.get_by_label("Device").fill(station.slug)
    filters.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(first["correlation_id"])
    expect(rows.first).to_contain_text("Weather station")
    expect(rows.first).to_contain_text("1 value stored")

    # A window after every message finds none.
    latest = RawMessage.objects.order_by("-received_at").first().received_at
    filters.get_by_label("Device").fill("")
    filters.get_by_label("From").fill((latest + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    filters.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("raw-list")).to_have_count(0)

    other = make_org(name="Elsewhere")
    expect_404(page, f"/org/{other.slug}/telemetry/raw/")
