"""An operator signs up, verifies their e-mail, logs in and creates an organisation, all in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from server.apps.org.models import Org
from server.apps.org.roles import OWNER

pytestmark = pytest.mark.browser

EMAIL = "operator@example.com"
PASSWORD = "a-long-Pass-phrase-42"


def test_sign_up_verify_log_in_and_create_an_organisation(page, live_server, mailoutbox):
    requests = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your devices")
    page.get_by_role("link", name="Create an account").click()

    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [EMAIL]
    confirm_url = re.search(r"https?://\S+/confirm-email/\S+", mailoutbox[0].body).group(0)

    page.goto(confirm_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Email Address")
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("status").first).to_contain_text("confirmed")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Organisations")
    expect(page.get_by_text("No organisations yet")).to_be_visible()
    page.get_by_label("Name").fill("Reservoir Monitoring")
    page.get_by_label("About").fill("Levels and pumps of the north basin")
    page.get_by_role("button", name="Create organisation").click()

    expect(page).to_have_url(re.compile(r"/org/reservoir-monitoring/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Reservoir Monitoring")
    expect(page.get_by_test_id("member-list")).to_contain_text(EMAIL)
    expect(page.get_by_test_id("member-list")).to_contain_text("Owner")
    expect(page.get_by_role("status").first).to_contain_text("created")

    org = Org.objects.get(slug="reservoir-monitoring")
    assert org.memberships.get(user__email=EMAIL).role == OWNER

    page.goto("/")
    expect(page.get_by_test_id("org-list")).to_contain_text("Reservoir Monitoring")

    statics = [url for url in requests if "/static/" in url]
    assert any(url.endswith("/static/css/app.css") for url in statics)
    assert any(url.endswith("/static/js/app.js") for url in statics)
    assert any("/static/fonts/bootstrap-icons.woff2" in url for url in statics), "the icon font should load"
    page.log.assert_clean()
