"""The device's Files tab in a real browser: a schedule added through its form is run by the worker's job (one
request, whatever runs it twice) and removed; a request with a file filter and a window shows the window on each
file; a window that ends before it starts is refused with the reason. Another organisation's tab is a 404."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.core.testing import make_org
from server.apps.device.services import device_claim, device_create
from server.apps.deviceupload.models import UploadSchedule
from server.apps.deviceupload.services import upload_schedules_run
from server.apps.deviceupload.tests.factories import make_upload
from server.apps.operation.models import DeviceOperation
from server.apps.project.services import project_create
from tests.browser.pages import expect_404

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"


@pytest.fixture
def device(transactional_db, folder_stores):
    staff = account_create(email="staff@example.com", password=PASSWORD, is_staff=True)
    owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
    org = make_org(owner=owner, name="Greenhouses")
    project = project_create(org=org, name="North house", created_by=owner)
    return device_claim(user=owner, device=device_create(created_by=staff, label="Gateway 1").slug, project=project)


def test_schedule_form_request_window_and_removal(page, live_server, sign_in, device):
    sign_in(device.org.created_by)
    page.goto(f"/org/{device.org.slug}/device/{device.slug}/")
    page.get_by_test_id("device-tabs").get_by_role("link", name="Files").click()
    expect(page.get_by_test_id("upload-schedules")).to_have_count(0)

    form = page.get_by_test_id("upload-schedule-form")
    form.get_by_label("Every (hours)").fill("6")
    form.get_by_label("Files").fill("logs/*.log")
    form.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("status").first).to_contain_text("every 6 h")
    schedules = page.get_by_test_id("upload-schedules")
    expect(schedules).to_contain_text("Every 6 h")
    expect(schedules).to_contain_text("logs/*.log")
    schedule = UploadSchedule.objects.get()
    assert (schedule.device_id, schedule.every_hours, schedule.files) == (device.pk, 6, "logs/*.log")

    # The worker's job finds it due: one request, even when it runs twice.
    assert upload_schedules_run(now=schedule.next_run) == 1
    assert upload_schedules_run(now=schedule.next_run) == 0
    trigger = DeviceOperation.objects.get(kind="upload")
    assert trigger.payload["options"]["files"] == "logs/*.log"
    make_upload(device, trigger=trigger)
    page.reload()
    expect(page.get_by_test_id("upload-schedules")).to_contain_text("1 request")
    expect(page.get_by_test_id("device-uploads").locator('[data-field="window"]')).not_to_have_text("—")

    # Asked now, with a window that ends before it starts: refused with the reason, nothing sent.
    request = page.get_by_test_id("upload-request-form")
    request.get_by_label("Window from (UTC)").fill("2026-12-02T00:00")
    request.get_by_label("Window to (UTC)").fill("2026-12-01T00:00")
    request.get_by_role("button", name="Ask now").click()
    expect(page.get_by_test_id("upload-request-form")).to_contain_text("The upload window starts after it ends.")
    assert DeviceOperation.objects.filter(kind="upload").count() == 1

    request = page.get_by_test_id("upload-request-form")
    request.get_by_label("Window from (UTC)").fill("2026-12-01T00:00")
    request.get_by_label("Window to (UTC)").fill("2026-12-02T06:30")
    request.get_by_role("button", name="Ask now").click()
    expect(page.get_by_role("status").first).to_contain_text("Asked the device for its files.")
    latest = DeviceOperation.objects.filter(kind="upload").order_by("-created_on").first()
    assert (latest.payload["from"], latest.payload["to"]) == (1796083200000, 1796193000000)
    make_upload(device, trigger=latest, name="today.log")
    page.reload()
    row = page.get_by_test_id("device-uploads").locator("tr", has_text="today.log")
    expect(row.locator('[data-field="window"]')).to_have_text("2026-12-01 00:00 \N{EN DASH} 2026-12-02 06:30")

    page.get_by_role("button", name="Remove the schedule every 6 h").click()
    expect(page.get_by_role("status").first).to_contain_text("Schedule removed.")
    expect(page.get_by_test_id("upload-schedules")).to_have_count(0)
    assert not UploadSchedule.objects.exists()


def test_another_organisation_s_files_tab_is_a_404(page, live_server, sign_in, device):
    outsider = account_create(email="oscar@example.com", password=PASSWORD)
    make_org(owner=outsider, name="Elsewhere")
    sign_in(outsider)
    expect_404(page, f"/org/{device.org.slug}/device/{device.slug}/files/")
