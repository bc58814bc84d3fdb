"""The site layout and the front-end bundle in a real browser: account pages, the user menu, the chart and upload
helpers. Every test also checks (through the ``page`` fixture) that nothing logged an error or left the machine."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from server.apps.core.testing import make_org, make_user
from server.config.api_schema import api_schema
from tests.browser.pages import open_user_menu

pytestmark = pytest.mark.browser


def assert_bundle_applied(page) -> None:
    # The stylesheet themed the navbar and the icon font is usable: the bundle loaded, from our own server.
    background = page.locator("nav.site-navbar").evaluate("element => getComputedStyle(element).backgroundImage")
    assert "gradient" in background
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('1em bootstrap-icons')")


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/", "Your devices, their data streams, one dashboard."),
        ("/accounts/login/", "Sign In"),
        ("/accounts/signup/", "Sign Up"),
        ("/accounts/password/reset/", "Password Reset"),
    ],
)
def test_pages_for_visitors(page, path, heading):
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert_bundle_applied(page)


def test_user_menu_account_pages_and_sign_out(page, sign_in):
    user = make_user(email="olive@example.com", username="olive")
    make_org(owner=user, name="Acme Water")
    sign_in(user)

    page.goto("/")
    expect(page.get_by_test_id("org-list")).to_contain_text("Acme Water")
    open_user_menu(page)
    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change Password")
    # The page's own link, not the user menu's (which counts as shown while the page's CSS is still loading).
    page.get_by_role("main").get_by_role("link", name="E-mail addresses").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email Addresses")

    open_user_menu(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Create an account")).to_be_visible()


def draw_test_chart(page, live_server, payload: dict) -> None:
    """The chart module drawing ``payload`` (the stream page's series JSON) into a #test-chart on the home page."""
    page.route(
        re.compile(r".*/test-chart-data\.json.*"),
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(payload)),
    )
    page.goto("/")
    page.evaluate(
        """() => {
            const chart = document.createElement("div");
            chart.className = "chart";
            chart.id = "test-chart";
            chart.dataset.chartUrl = "/test-chart-data.json";
            document.querySelector("main").prepend(chart);
        }"""
    )
    page.add_script_tag(url=f"{live_server.url}/static/js/charts.js")
    expect(page.locator("#test-chart canvas")).to_be_visible()


def test_chart_module_draws_a_series(page, sign_in, live_server):
    sign_in(make_user())
    hours = [1_714_557_600 + 3600 * i for i in range(48)]
    payload = {"x": hours, "series": [{"label": "Level", "unit": "m", "values": [i % 7 for i in range(48)]}]}
    draw_test_chart(page, live_server, payload)
    expect(page.locator("#test-chart .u-legend")).to_contain_text("Level (m)")


def test_the_value_axis_is_as_wide_as_its_widest_label(page, sign_in, live_server):
    # A fixed width showed 1,000,000 as "000,000", the rest cut off at the chart's left edge.
    sign_in(make_user())
    hours = [1_714_557_600 + 3600 * i for i in range(24)]
    payload = {"x": hours, "series": [{"label": "Count", "values": [1_000_000 * i for i in range(24)]}]}
    draw_test_chart(page, live_server, payload)
    axis = page.evaluate(
        """() => {
            const chart = document.getElementById("test-chart")._chart.chart;
            const axis = chart.axes[1];
            chart.ctx.font = axis.font[0];
            const widths = axis._values.map((label) => chart.ctx.measureText(label).width / devicePixelRatio);
            const room = axis.ticks.size + axis.gap;
            return { size: axis._size, labels: axis._values, widest: Math.max(...widths), room };
        }"""
    )
    assert "20,000,000" in axis["labels"]
    assert axis["size"] >= axis["room"] + axis["widest"]


def test_upload_helper_reports_progress_and_errors(page, sign_in):
    sign_in(make_user())
    answers = iter([(400, {"detail": "The file is not a streamer report."}), (201, {"count": 3})])

    def answer(route):
        status, body = next(answers)
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    page.route(re.compile(r".*/test-upload/$"), answer)
    page.goto("/")
    page.evaluate(
        """() => {
            document.querySelector("main").insertAdjacentHTML("afterbegin", `
              <form id="upload" method="post" action="/test-upload/" data-upload data-upload-stay
                    data-upload-success="Report received.">
                <input type="file" name="file">
                <div class="progress" data-upload-progress hidden><div class="progress-bar"></div></div>
                <div data-upload-message hidden></div>
                <button type="submit">Upload</button>
              </form>`);
            window.iotile.init();
        }"""
    )
    page.set_input_files(
        "#upload input[type=file]",
        files=[{"name": "report.bin", "mimeType": "application/octet-stream", "buffer": b"\x01" * 4096}],
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload [data-upload-message]")).to_have_text("The file is not a streamer report.")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload [data-upload-message]")).to_have_text("Report received.")
    expect(page.locator("#upload .progress-bar")).to_have_text("100%")
    # The rejected upload's 400 is what this test asked for, not a fault of the page.
    page.log.failed_requests[:] = [r for r in page.log.failed_requests if "/test-upload/" not in r]
    page.log.console_errors[:] = [m for m in page.log.console_errors if "400" not in m]


def test_swagger_ui_loads_from_our_own_server(page):
    # The live server shares this process's schema (server/config/api_schema.py): built here, not while the page
    # waits. That it is built once and answered from memory is core/tests/test_schema.py's.
    api_schema()
    page.goto("/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("IOTile Platform API", timeout=30_000)
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()


def test_redoc_loads_from_our_own_server(page):
    api_schema()
    page.goto("/api/v1/redoc/")
    # ReDoc renders the whole megabyte of schema before its heading shows: seconds on a quiet machine, over a minute
    # in the browser alone when the machine is saturated. The wait is for the page to work, not a speed limit.
    expect(page.locator("h1").first).to_contain_text("IOTile Platform API", timeout=120_000)
    # The sidebar's footer is where ReDoc would fetch its logo from a CDN.
    expect(page.get_by_text("API docs by Redocly")).to_be_visible()
    expect(page.get_by_alt_text("redocly logo")).to_have_attribute("src", re.compile(r"^/static/"))
