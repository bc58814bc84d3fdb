"""The stream page in a real browser: an operator's way from signing up to a chart of their device's data, a stream
of a million readings, and a week of temperatures, which ``inv screenshots`` saves as docs/screenshots/stream.png
(``IOTILE_STREAM_SCREENSHOT=<path> pytest tests/browser/test_stream_page.py -k week``).
"""

from __future__ import annotations

import csv
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from server.apps.core.testing import make_org, make_user
from server.apps.device.services import device_create
from server.apps.device.tests.factories import make_device, make_project, make_stream, make_variable
from server.apps.project.models import Project
from server.apps.stream.models import StreamId
from server.apps.stream.tests.factories import add_generated_readings
from server.apps.streamdata.selectors.series import SERIES_MAX_POINTS

pytestmark = pytest.mark.browser

EMAIL = "dana.reyes@example.com"
PASSWORD = "a-long-Pass-phrase-42"
READY = "[data-range-explorer][data-range-state=ready]"
CHART = "[data-range-chart]"
# Set by running this file: where the week-of-readings test saves its screenshot.
SCREENSHOT = os.environ.get("IOTILE_STREAM_SCREENSHOT")


def wait_for_chart(page) -> dict[str, str]:
    """Waits until the chart shows its window; returns what it reports (points, readings, bucket seconds)."""
    page.wait_for_selector(READY)
    chart = page.locator(CHART)
    return {name: chart.get_attribute(f"data-chart-{name}") or "" for name in ("points", "readings", "bucket-seconds")}


def change_window(page, action) -> dict[str, str]:
    """Does ``action`` (a click…) and waits for the chart to show the new window."""
    page.evaluate("document.querySelector('[data-range-explorer]').dataset.rangeState = 'moving'")
    action()
    return wait_for_chart(page)


def sign_up_and_log_in(page, mailoutbox) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    confirm_url = re.search(r"https?://\S+/confirm-email/\S+", mailoutbox[-1].body).group(0)
    page.goto(confirm_url)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisations")


def api_token(page) -> str:
    response = page.request.post("/api/v1/auth/login/", data={"email": EMAIL, "password": PASSWORD})
    assert response.ok, response.text()
    return response.json()["jwt"]


def test_from_sign_up_to_a_chart_a_table_and_a_csv_of_a_devices_data(page, mailoutbox, tmp_path):
    # A device as it leaves the factory, waiting to be claimed.
    device = device_create(created_by=make_user(is_staff=True), label="Pump house 3")

    sign_up_and_log_in(page, mailoutbox)
    page.get_by_label("Name").fill("North Basin Water")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("North Basin Water")
    # The heading shows before the bundle has run; the collapse button works once it has (the page's load event).
    page.wait_for_load_state("load")

    page.get_by_role("button", name="New project").click()
    # The form slides open; click inside it only once Bootstrap has finished the transition.
    expect(page.locator("#new-project.collapse.show")).to_be_visible()
    # By name: the page's settings form has a "Name" field too.
    page.get_by_test_id("project-form").locator("input[name=name]").fill("Reservoir monitoring")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reservoir monitoring")
    project_slug = Project.objects.get(name="Reservoir monitoring").slug

    # The project's variable comes from the API (the dashboard has no variable form): claiming then gives the
    # device its stream.
    token = api_token(page)
    headers = {"Authorization": f"jwt {token}"}
    response = page.request.post(
        "/api/v1/variable/",
        data={"project": project_slug, "lid": "5001", "name": "Water temperature", "units": "°C"},
        headers=headers,
    )
    assert response.status == 201, response.text()

    page.get_by_test_id("claim-form").get_by_label("Device").fill(device.slug)
    page.get_by_role("button", name="Claim into Reservoir monitoring").click()
    # Claimed: the device's page, with the stream the project's variable gave it.
    expect(page.get_by_role("heading", level=1)).to_have_text("Pump house 3")
    expect(page.get_by_test_id("stream-list")).to_contain_text("Water temperature")
    stream = StreamId.objects.get(device_id=device.id, var_lid=0x5001)

    # Three hours of readings, one a minute, posted as a script or gateway would.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    points = [
        {"stream": stream.slug, "timestamp": (start + timedelta(minutes=i)).isoformat(), "value": 18 + (i % 60) / 10}
        for i in range(180)
    ]
    response = page.request.post("/api/v1/data/", data=points, headers=headers)
    assert response.status == 201, response.text()
    assert response.json() == {"count": 180}

    # From the device's page to the stream's, at its canonical address.
    page.reload()
    page.get_by_test_id("stream-list").get_by_role("link", name="Water temperature").click()
    expect(page).to_have_url(re.compile(rf"/org/north-basin-water/stream/{stream.slug}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Water temperature")
    expect(page.get_by_test_id("reading-count")).to_have_text("180")

    chart = wait_for_chart(page)
    assert chart == {"points": "180", "readings": "180", "bucket-seconds": ""}
    expect(page.locator(f"{CHART} canvas")).to_be_visible()
    expect(page.locator(f"{CHART} .u-legend")).to_contain_text("Water temperature (°C)")
    expect(page.locator("[data-range-meta]")).to_contain_text("180 readings")
    rows = page.get_by_test_id("reading-rows").locator("tbody tr")
    expect(rows).to_have_count(50)
    newest = start + timedelta(minutes=179)
    expect(rows.first).to_contain_text(newest.strftime("%Y-%m-%d %H:%M:%S"))
    expect(rows.first).to_contain_text("23.90")

    # The last hour: the chart, the table, the address and the CSV link all follow.
    chart = change_window(page, lambda: page.get_by_role("link", name="1 h").click())
    assert chart["points"] == "60"
    expect(page).to_have_url(re.compile(r"\?range=1h$"))
    expect(rows.first).to_contain_text(newest.strftime("%Y-%m-%d %H:%M:%S"))
    page.get_by_test_id("readings").get_by_role("link", name="Older").first.click()
    expect(rows).to_have_count(10)
    expect(rows.last).to_contain_text((newest - timedelta(minutes=59)).strftime("%H:%M:%S"))

    with page.expect_download() as download_info:
        page.get_by_test_id("csv-download").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"{stream.slug}_")
    path = tmp_path / "readings.csv"
    download.save_as(path)
    with path.open() as file:
        table = list(csv.reader(file))
    assert table[0] == ["timestamp", "value", "int_value", "streamer_local_id", "status"]
    assert len(table) == 61
    assert table[-1][0] == newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert float(table[-1][1]) == pytest.approx(23.9)

    # Half a window earlier, then a custom window typed in (UTC).
    chart = change_window(page, lambda: page.get_by_role("button", name="Earlier").click())
    assert chart["points"] == "60"
    assert "start=" in page.url
    custom = page.locator("[data-range-form]")
    custom.locator("[name=start]").fill((start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"))
    custom.locator("[name=end]").fill((start + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%S"))
    chart = change_window(page, lambda: custom.get_by_role("button", name="Apply").click())
    assert chart["points"] == "10"
    expect(rows).to_have_count(10)

    # Nothing there: a friendly word instead of an empty chart.
    custom.locator("[name=start]").fill("2020-01-01T00:00:00")
    custom.locator("[name=end]").fill("2020-01-02T00:00:00")
    chart = change_window(page, lambda: custom.get_by_role("button", name="Apply").click())
    assert chart["points"] == "0"
    expect(page.locator(f"{CHART} .chart-status")).to_contain_text("No readings between")
    expect(page.get_by_test_id("readings")).to_contain_text("No readings in this range")
    page.log.assert_clean()


def test_the_page_is_ready_once_the_table_shows_the_new_window_too(page, sign_in):
    """While the table of a new window loads, the page is not ready and the old table's links do nothing: they would
    page through the previous window."""
    device = make_device(make_project(make_org(name="Weir Water")), label="Weir gauge")
    stream = make_stream(device, variable=make_variable(device.project, lid=0x5003, name="Weir level"))
    newest = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    add_generated_readings(stream, count=180, start=newest - timedelta(minutes=179), step_seconds=60)
    sign_in(stream.org.created_by)
    held = []
    table = re.compile(r"/table/\?")
    page.route(table, lambda route: held.append(route))

    page.goto(f"/org/{stream.org.slug}/stream/{stream.slug}/")
    assert wait_for_chart(page)["points"] == "180"
    explorer = page.locator("[data-range-explorer]")
    rows = page.get_by_test_id("reading-rows").locator("tbody tr")
    expect(rows).to_have_count(50)

    page.get_by_role("link", name="1 h").click()
    # The chart shows the hour; its table is held back.
    expect(page.locator(CHART)).to_have_attribute("data-chart-points", "60")
    expect(explorer).to_have_attribute("data-range-state", "loading")
    assert len(held) == 1
    page.get_by_test_id("readings").get_by_role("link", name="Older").first.click()
    assert page.url.endswith("?range=1h")
    assert len(held) == 1
    expect(explorer).to_have_attribute("data-range-state", "loading")

    held[0].continue_()
    page.unroute(table)
    expect(explorer).to_have_attribute("data-range-state", "ready")
    expect(rows).to_have_count(50)
    page.get_by_test_id("readings").get_by_role("link", name="Older").first.click()
    expect(rows).to_have_count(10)
    assert "range=1h" in page.url
    assert "before=" in page.url
    page.log.assert_clean()


def test_a_stream_of_a_million_readings_draws_a_downsampled_chart(page, sign_in):
    device = make_device(make_project(make_org(name="Big Data Water")), label="Intake logger")
    stream = make_stream(device, variable=make_variable(device.project, lid=0x5002, name="Intake temperature"))
    add_generated_readings(stream, count=1_000_000, start=datetime(2025, 1, 1, tzinfo=UTC), step_seconds=30)
    sign_in(stream.org.created_by)

    page.goto(f"/org/{stream.org.slug}/stream/{stream.slug}/")
    expect(page.get_by_test_id("reading-count")).to_have_text("1,000,000")
    chart = wait_for_chart(page)
    assert 0 < int(chart["points"]) <= SERIES_MAX_POINTS
    assert chart["readings"] == "1000000"
    assert chart["bucket-seconds"] == str(6 * 3600)
    expect(page.locator(f"{CHART} canvas")).to_be_visible()
    expect(page.locator("[data-range-meta]")).to_contain_text("1,000,000 readings, drawn as")
    expect(page.get_by_test_id("reading-rows").locator("tbody tr")).to_have_count(50)

    # Dragging across a sliver of the chart zooms into it: fewer readings, finer buckets or the readings themselves.
    overlay = page.locator(f"{CHART} .u-over").bounding_box()
    middle = overlay["y"] + overlay["height"] / 2
    page.evaluate("document.querySelector('[data-range-explorer]').dataset.rangeState = 'moving'")
    page.mouse.move(overlay["x"] + overlay["width"] * 0.5, middle)
    page.mouse.down()
    page.mouse.move(overlay["x"] + overlay["width"] * 0.505, middle, steps=4)
    page.mouse.up()
    zoomed = wait_for_chart(page)
    assert 0 < int(zoomed["readings"]) < 1_000_000
    assert int(zoomed["points"]) <= SERIES_MAX_POINTS
    assert zoomed["bucket-seconds"] in ("", "60", "120", "300")
    assert "start=" in page.url
    page.log.assert_clean()


def test_a_week_of_temperatures(page, sign_in):
    owner = make_user(email="dana.reyes@northbasin.example", username="dana", name="Dana Reyes")
    project = make_project(make_org(owner=owner, name="North Basin Water"), name="Reservoir monitoring")
    device = make_device(project, label="Pump house 3")
    stream = make_stream(device, variable=make_variable(project, name="Water temperature", units="°C"))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    add_generated_readings(stream, count=7 * 24 * 60, start=now - timedelta(days=7), step_seconds=60)
    sign_in(owner)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(f"/org/{stream.org.slug}/stream/{stream.slug}/")
    chart = wait_for_chart(page)
    # 10,080 readings: drawn as ten-minute buckets, with their minimum and maximum as a band.
    assert chart["readings"] == "10080"
    assert chart["bucket-seconds"] == "600"
    expect(page.locator(f"{CHART} .u-legend")).to_contain_text("max")
    page.mouse.move(900, 600)  # the legend shows the values under the cursor
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT)
    page.log.assert_clean()
