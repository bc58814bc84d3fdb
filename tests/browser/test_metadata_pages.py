"""The device metadata pages in a real browser: a property and a note added through the tabs, the track map drawn
without any map server, replacing a device through its form and reading the alias's continuous series, archiving a
device while the page follows the worker's progress, then the block's streams and their data; read-only roles."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.core.targets import target_for_object
from server.apps.core.testing import make_member, make_org
from server.apps.datablock.models import ArchiveStatus, DataBlock
from server.apps.device.services import device_claim, device_create
from server.apps.devicelocation.services import device_location_create
from server.apps.org.roles import OPERATOR
from server.apps.project.services import project_create
from server.apps.stream.models import StreamId
from server.apps.stream.services import variable_create
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_row
from server.apps.worker.runner import run_worker

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"
LEVEL = 0x5001
TEN_MINUTES = timedelta(minutes=10)


class Site:
    """An organisation with a project, a claimed device with an hour and a half of level readings and a short GPS
    track, and a spare device waiting on the shelf."""

    def __init__(self) -> None:
        self.staff = account_create(email="staff@example.com", password=PASSWORD, is_staff=True)
        self.owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
        self.org = make_org(owner=self.owner, name="Reservoir Monitoring")
        self.project = project_create(org=self.org, name="North basin", created_by=self.owner)
        variable_create(user=self.owner, project=self.project, lid=LEVEL, name="Water level", units="cm")
        device = device_create(created_by=self.staff, label="Inlet meter")
        self.device = device_claim(user=self.owner, device=device.slug, project=self.project)
        self.spare = device_create(created_by=self.staff)
        self.now = timezone.now().replace(microsecond=0)
        self.swap = self.now - timedelta(hours=1)
        # Readings every ten minutes for the 90 minutes before now; the last six arrive after the swap.
        self.insert(self.device, [self.now - timedelta(minutes=90) + i * TEN_MINUTES for i in range(9)], 100.0)
        target = target_for_object(self.device)
        for i, (lat, lon) in enumerate([("59.3293", "18.0686"), ("59.3320", "18.0710"), ("59.3351", "18.0602")]):
            device_location_create(
                user=self.owner,
                target=target,
                lat=Decimal(lat),
                lon=Decimal(lon),
                timestamp=self.now - timedelta(hours=3 - i),
            )

    def insert(self, device, times, base: float) -> None:
        stream = StreamId.objects.get(device=device, var_lid=LEVEL, block__isnull=True)
        rows = [stream_data_row(series=stream.series, timestamp=t, value=base + i) for i, t in enumerate(times)]
        stream_data_bulk_insert(rows=rows)

    def path(self, device=None, tab: str = "") -> str:
        device = device or self.device
        return f"/org/{self.org.slug}/device/{device.slug}/" + (f"{tab}/" if tab else "")


@pytest.fixture
def site(transactional_db, folder_stores):
    return Site()


def test_metadata_replacement_and_archiving_from_the_dashboard(page, live_server, sign_in, site):
    sign_in(site.owner)

    # A property, through the properties tab.
    page.goto(site.path())
    page.get_by_test_id("device-tabs").get_by_role("link", name="Properties").click()
    form = page.get_by_test_id("property-form")
    form.get_by_label("Name").fill("site")
    form.get_by_label("Value").fill("Quay 4")
    form.get_by_role("button", name="Add").click()
    expect(page.get_by_role("status").first).to_contain_text("Property “site” added.")
    expect(page.get_by_test_id("property-site")).to_contain_text("Quay 4")

    # A note, through the notes tab.
    page.get_by_test_id("device-tabs").get_by_role("link", name="Notes").click()
    page.get_by_test_id("note-form").get_by_label("Note").fill("Installed at quay 4")
    page.get_by_test_id("note-form").get_by_role("button", name="Add note").click()
    expect(page.get_by_test_id("note-list")).to_contain_text("Installed at quay 4")
    expect(page.get_by_test_id("note-list")).to_contain_text("Olivia Marsh")

    # The track, drawn in the page with no map server: an SVG with a point per location and a time on hover.
    page.get_by_test_id("device-tabs").get_by_role("link", name="Locations").click()
    track = page.get_by_test_id("track-map")
    expect(track).to_have_attribute("data-map-state", "ready")
    expect(track.locator("svg circle")).to_have_count(3)
    expect(track.locator("svg polyline")).to_have_count(1)
    expect(track.locator(".track-map-grid line").first).to_be_attached()
    expect(track.locator(".track-map-scale text")).to_have_text(re.compile(r"^\d+ (m|km)$"))
    track.locator("svg circle").last.hover()
    latest = site.now - timedelta(hours=1)
    expect(page.locator("[data-track-readout]")).to_contain_text(latest.strftime("%Y-%m-%d %H:%M:%S UTC"))
    expect(page.get_by_test_id("location-list").locator("tbody tr")).to_have_count(3)

    # A device token, fetched by the page with its session.
    page.get_by_test_id("device-tabs").get_by_role("link", name="Overview").click()
    token_button = page.get_by_role("button", name="Get a device token")
    expect(token_button).to_have_attribute("data-token-ready", "1")  # the page's script is listening
    token_button.click()
    expect(page.get_by_test_id("device-token")).to_have_value(re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$"))

    # Replacing the device: one form, then the new device's page.
    page.get_by_role("button", name="Replace device").click()
    replace = page.get_by_test_id("replace-form")
    replace.get_by_label("New device").fill(site.spare.slug)
    replace.get_by_label("Swapped at (UTC)").fill(site.swap.strftime("%Y-%m-%dT%H:%M:%S"))
    page.once("dialog", lambda dialog: dialog.accept())
    replace.get_by_role("button", name=re.compile("Replace d--")).click()
    expect(page).to_have_url(re.compile(re.escape(site.path(site.spare)) + "$"))
    expect(page.get_by_role("status").first).to_contain_text(f"{site.spare.slug} replaces {site.device.slug}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inlet meter")
    aliases = page.get_by_test_id("device-aliases")
    expect(aliases).to_contain_text("continues as alias a--")

    # The new device reports from the swap on; the old one also sent a few readings after it, which the alias skips.
    site.insert(site.spare, [site.swap + i * TEN_MINUTES for i in range(6)], 200.0)
    aliases.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Water level")
    chart = page.get_by_test_id("alias-chart")
    expect(chart).to_have_attribute("data-chart-points", "9")  # 3 old readings before the swap, 6 new after it
    readings = page.get_by_test_id("alias-readings")
    expect(readings.locator("tbody tr")).to_have_count(9)
    old_stream = StreamId.objects.get(device=site.device, var_lid=LEVEL)
    new_stream = StreamId.objects.get(device=site.spare, var_lid=LEVEL)
    expect(readings.locator("tbody tr").first).to_contain_text(new_stream.slug)
    expect(readings.locator("tbody tr").last).to_contain_text(old_stream.slug)
    expect(page.get_by_test_id("alias-taps").locator("li")).to_have_count(2)

    # Archiving the new device: the block's page follows the worker until it is done.
    page.goto(site.path(site.spare))
    page.get_by_role("button", name="Archive data").click()
    archive = page.get_by_test_id("archive-form")
    archive.get_by_label("Title").fill("First deployment")
    archive.get_by_role("button", name="Archive").click()
    expect(page).to_have_url(re.compile(r"/datablock/b--0001-"))
    progress = page.get_by_role("progressbar", name="Archive progress")
    expect(progress).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_test_id("block-status")).to_have_text("Scheduled")

    run_worker(burst=True)

    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("block-status")).to_have_text("Completed")
    block = DataBlock.objects.get(device=site.spare)
    assert block.status == ArchiveStatus.COMPLETED
    archived = StreamId.objects.get(block=block, var_lid=LEVEL)
    expect(page.get_by_test_id(f"count-{archived.slug}")).to_have_text("6")

    # The block's stream opens on the stream page with its six readings.
    page.get_by_test_id("block-stream-list").get_by_role("link", name="Water level").click()
    expect(page).to_have_url(re.compile(re.escape(archived.slug)))
    expect(page.locator("[data-range-explorer]")).to_have_attribute("data-range-state", "ready")
    expect(page.locator(".chart").first).to_have_attribute("data-chart-points", "6")

    # The organisation's list of blocks shows it.
    page.goto(f"/org/{site.org.slug}/datablocks/")
    expect(page.get_by_test_id("block-list")).to_contain_text("First deployment")


def test_an_operator_reads_without_controls(page, live_server, sign_in, site):
    operator = make_member(site.org, OPERATOR)
    sign_in(operator)
    page.goto(site.path())
    tabs = page.get_by_test_id("device-tabs")
    expect(tabs.get_by_role("link", name="Overview")).to_be_visible()
    expect(tabs.get_by_role("link", name="Properties")).to_have_count(0)
    expect(tabs.get_by_role("link", name="Notes")).to_have_count(0)
    expect(tabs.get_by_role("link", name="Locations")).to_have_count(0)
    for name in ("Replace device", "Archive data", "Get a device token"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    page.goto(site.path(tab="config"))
    expect(page.get_by_test_id("config-form")).to_have_count(0)
