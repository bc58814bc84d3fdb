"""The device page in a real browser: streams with their latest values, a report uploaded from the browser with a
progress bar and processed by the worker, editing and unclaiming; read-only roles; another organisation's user
finds nothing; the staff pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from iotile.core.hw.reports import IOTileReading, SignedListReport
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.core.testing import make_member, make_org
from server.apps.device.models import Device
from server.apps.device.services import device_claim, device_create
from server.apps.org.roles import OPERATOR
from server.apps.project.services import project_create
from server.apps.stream.models import StreamId
from server.apps.stream.services import variable_create
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_row
from server.apps.streamer.models import ReportStatus, StreamerReport
from server.apps.worker.runner import run_worker
from tests.browser.pages import expect_404

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"
LEVEL, FLOW = 0x5001, 0x5002
# A user streamer sending every user output and the reboots, as a device does.
USER_SELECTOR = 0xD7FF


class Site:
    """An organisation with a project, a claimed device with two streams and a few readings, and its owner."""

    def __init__(self) -> None:
        self.staff = account_create(email="staff@example.com", password=PASSWORD, is_staff=True)
        self.owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
        self.org = make_org(owner=self.owner, name="Reservoir Monitoring")
        self.project = project_create(org=self.org, name="North basin", created_by=self.owner)
        variable_create(user=self.owner, project=self.project, lid=LEVEL, name="Water level", units="cm")
        variable_create(user=self.owner, project=self.project, lid=FLOW, name="Flow", units="L/min")
        device = device_create(created_by=self.staff, label="Inlet meter")
        self.device = device_claim(user=self.owner, device=device.slug, project=self.project)
        self.streams = {s.var_lid: s for s in StreamId.objects.filter(device=self.device)}
        start = timezone.now() - timedelta(hours=3)
        stream_data_bulk_insert(
            rows=[
                stream_data_row(series=self.streams[LEVEL].series, timestamp=start + timedelta(minutes=10 * i), value=v)
                for i, v in enumerate([120.0, 121.5, 123.25])
            ]
        )

    @property
    def device_path(self) -> str:
        return f"/org/{self.org.slug}/device/{self.device.slug}/"

    @property
    def project_path(self) -> str:
        return f"/org/{self.org.slug}/project/{self.project.slug}/"

    def report(self) -> bytes:
        """A signed report of the last half hour: three level and three flow readings, ids 1 to 6."""
        rows = [
            (3000 + 600 * i, lid, value, 2 * i + n)
            for i in range(3)
            for n, (lid, value) in enumerate([(LEVEL, 130 + i), (FLOW, 40 + i)], 1)
        ]
        readings = [IOTileReading(raw, stream, value, reading_id=rid) for raw, stream, value, rid in rows]
        report = SignedListReport.FromReadings(
            self.device.id, readings, report_id=7, selector=USER_SELECTOR, sent_timestamp=4300
        )
        return bytes(report.raw_report)


@pytest.fixture
def site(transactional_db, folder_stores):
    return Site()


def test_streams_latest_values_and_a_report_uploaded_from_the_browser(page, live_server, sign_in, site):
    sign_in(site.owner)
    page.goto(site.device_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Inlet meter")
    level, flow = site.streams[LEVEL], site.streams[FLOW]
    expect(page.get_by_test_id(f"latest-{level.slug}")).to_have_text("123.25")
    expect(page.get_by_test_id("stream-list")).to_contain_text("Flow")
    expect(page.get_by_test_id("report-list-empty")).to_be_visible()
    stream_link = page.get_by_role("link", name="Water level")
    assert level.slug in stream_link.get_attribute("href")

    upload = page.locator("form[data-report-upload]")
    upload.get_by_label("Report file").set_input_files(
        {"name": "inlet.bin", "mimeType": "application/octet-stream", "buffer": site.report()}
    )
    upload.get_by_role("button", name="Upload").click()

    progress = upload.get_by_role("progressbar", name="Upload progress")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(progress).to_contain_text("100%")
    expect(upload.get_by_role("status")).to_contain_text("inlet.bin uploaded: 6 new readings")
    history = page.get_by_test_id("report-list")
    expect(history).to_contain_text("inlet.bin")
    expect(history).to_contain_text("Queued")
    report = StreamerReport.objects.get(streamer__device=site.device)
    assert (report.upload_count, report.created_by) == (6, site.owner)

    run_worker(burst=True)

    page.reload()
    expect(page.get_by_test_id("report-list")).to_contain_text("Processed")
    expect(page.get_by_test_id(f"latest-{level.slug}")).to_have_text("132.00")
    expect(page.get_by_test_id(f"latest-{flow.slug}")).to_have_text("42.00")
    expect(page.get_by_test_id("device-status")).to_have_text("Active")
    expect(page.get_by_test_id("streamer-list")).to_contain_text("6")
    assert StreamerReport.objects.get(pk=report.pk).status == ReportStatus.SUCCESS


def test_a_refused_upload_says_why_and_keeps_the_page(page, live_server, sign_in, site):
    sign_in(site.owner)
    page.goto(site.device_path)
    upload = page.locator("form[data-report-upload]")
    upload.get_by_role("button", name="Upload").click()
    expect(upload.get_by_role("status")).to_have_text("Choose a report file first.")
    upload.get_by_label("Report file").set_input_files(
        {"name": "garbage.bin", "mimeType": "application/octet-stream", "buffer": b"\x00" * 40}
    )
    upload.get_by_role("button", name="Upload").click()
    expect(upload.get_by_role("status")).to_have_class(re.compile("alert-danger"))
    assert not StreamerReport.objects.exists()
    # The API's 400 is the expected answer here.
    for entries in (page.log.failed_requests, page.log.console_errors):
        entries[:] = [entry for entry in entries if "/api/v1/streamer/report/" not in entry]


def test_editing_and_unclaiming_a_device(page, live_server, sign_in, site):
    sign_in(site.owner)
    page.goto(site.device_path)
    page.get_by_role("button", name="Edit").click()
    form = page.get_by_test_id("device-form")
    form.get_by_label("Label").fill("Inlet meter, basin A")
    form.get_by_label("Latitude").fill("95")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("device-form")).to_contain_text("less than or equal to 90")
    form = page.get_by_test_id("device-form")
    form.get_by_label("Latitude").fill("59.3293")
    form.get_by_label("Longitude").fill("18.0686")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inlet meter, basin A")
    expect(page.locator("#details")).to_contain_text("59.32930, 18.06860")

    # Exactly "Unclaim": the panel's own "Unclaim d--…" button must not match while the page's CSS is still loading.
    # The toggle opens the panel once the bundle has run (the page's load event, after the save's redirect).
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Unclaim", exact=True).click()
    expect(page.locator("#device-unclaim.collapse.show")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("unclaim-form").get_by_role("button", name=re.compile("Unclaim d--")).click()
    expect(page).to_have_url(re.compile(re.escape(site.project_path) + "$"))
    expect(page.get_by_role("status").first).to_contain_text("was unclaimed")
    device = Device.objects.get(pk=site.device.pk)
    assert device.project is None
    assert device.label == "Inlet meter, basin A"


def test_an_operator_gets_a_read_only_device_page(page, live_server, sign_in, site):
    operator = make_member(site.org, OPERATOR)
    sign_in(operator)
    page.goto(site.device_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Inlet meter")
    expect(page.get_by_role("button", name="Edit")).to_have_count(0)
    expect(page.get_by_role("button", name="Unclaim")).to_have_count(0)
    expect(page.locator("#streams")).to_contain_text("Your role does not show data values.")
    page.goto(site.project_path)
    expect(page.get_by_test_id("claim-form")).to_have_count(0)


def test_another_organisations_user_finds_nothing(page, live_server, sign_in, site):
    stranger = account_create(email="mallory@example.com", password=PASSWORD)
    theirs = make_org(owner=stranger, name="Mallory Metering")
    sign_in(stranger)
    for path in (
        site.device_path,
        site.project_path,
        f"/org/{site.org.slug}/",
        f"/org/{site.org.slug}/device/{site.device.slug}/reports/",
        # The device under the stranger's own organisation is not theirs either.
        f"/org/{theirs.slug}/device/{site.device.slug}/",
        f"/org/{theirs.slug}/project/{site.project.slug}/",
        "/staff/",
    ):
        expect_404(page, path)
    page.goto("/")
    expect(page.get_by_test_id("org-list")).not_to_contain_text("Reservoir Monitoring")


def test_staff_see_the_worker_and_create_devices_in_a_batch(page, live_server, sign_in, site):
    sign_in(site.staff)
    page.goto("/")
    page.get_by_test_id("staff-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff")
    expect(page.get_by_test_id("queue-depth")).to_contain_text("Queued messages")
    navigation = page.get_by_test_id("staff-nav")
    navigation.get_by_role("link", name="Run log").click()
    expect(page.get_by_test_id("run-list")).to_be_visible()
    navigation.get_by_role("link", name="Dead letters").click()
    expect(page.get_by_test_id("dead-letter-list")).to_contain_text("The worker has given up on nothing")
    navigation.get_by_role("link", name="Organisations").click()
    expect(page.get_by_test_id("org-list")).to_contain_text("Reservoir Monitoring")

    navigation.get_by_role("link", name="Devices").click()
    expect(page.get_by_test_id("device-list")).to_contain_text(site.device.slug)
    batch = page.get_by_test_id("batch-form")
    batch.get_by_label("How many").fill("3")
    batch.get_by_label("Label prefix").fill("Spare meter")
    batch.get_by_role("button", name="Create devices").click()
    expect(page.get_by_test_id("created-list").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("created-list")).to_contain_text("Spare meter 1")
    assert Device.objects.filter(label__startswith="Spare meter", project__isnull=True).count() == 3


def test_staff_set_rotate_and_revoke_a_devices_keys(page, live_server, sign_in, site):
    """The staff keys page: a device token signed before a rotation stops working, a new claim key is shown once."""
    from rest_framework.test import APIClient

    from server.apps.deviceauth.models import DeviceKey, DeviceKeyType
    from server.apps.deviceauth.services import device_token_issue

    token = device_token_issue(user=site.owner, device=site.device)
    device_client = APIClient()
    device_client.credentials(HTTP_AUTHORIZATION=f"a-jwt {token}")
    assert device_client.get(f"/api/v1/device/{site.device.slug}/").status_code == 200

    sign_in(site.staff)
    page.goto("/staff/devices/")
    page.get_by_test_id("device-list").locator("tr", has_text=site.device.slug).get_by_test_id(
        "device-keys-link"
    ).click()
    keys = page.get_by_test_id("key-list")
    expect(keys.locator("tr[data-key='a-jwt']")).to_contain_text("Device token signing key")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("rotate-a-jwt").click()
    expect(page.get_by_test_id("revealed-key")).to_contain_text("the new secret, shown once")
    secret = page.get_by_test_id("revealed-secret").inner_text().strip()
    assert DeviceKey.objects.get(device=site.device, type=DeviceKeyType.A_JWT).secret == secret
    assert device_client.get(f"/api/v1/device/{site.device.slug}/").status_code == 401

    form = page.get_by_test_id("key-form")
    form.get_by_label("Key").select_option("claim")
    form.get_by_role("button", name="Save the key").click()
    claim_key = page.get_by_test_id("revealed-secret").inner_text().strip()
    assert re.fullmatch(r"[0-9A-F]{4}(-[0-9A-F]{4}){3}", claim_key)
    expect(page.get_by_test_id("key-list").locator("tr[data-key='claim']")).to_be_visible()

    form = page.get_by_test_id("key-form")
    form.get_by_label("Key").select_option("usr")
    form.get_by_label("Secret").fill("not a key")
    form.get_by_role("button", name="Save the key").click()
    expect(page.get_by_test_id("key-form")).to_contain_text("64 hex digits")
    assert not DeviceKey.objects.filter(device=site.device, type=DeviceKeyType.USER).exists()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("revoke-claim").click()
    expect(page.get_by_role("alert").or_(page.get_by_role("status")).first).to_contain_text("revoked")
    expect(page.get_by_test_id("key-list").locator("tr[data-key='claim']")).to_have_count(0)
    assert not DeviceKey.objects.filter(device=site.device, type=DeviceKeyType.CLAIM).exists()
    page.log.assert_clean()
