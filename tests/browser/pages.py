"""Steps the dashboard's browser tests share."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect


def link_in(mail, pattern: str) -> str:
    """The path of the first link in ``mail`` containing ``pattern``; the live server's host is not the site's."""
    url = re.search(rf"https?://\S*{pattern}\S*", mail.body).group(0)
    return urlsplit(url).path


def open_user_menu(page) -> None:
    # Once the page's scripts have run: a click on the toggle before Bootstrap binds it follows its href="#" instead.
    page.wait_for_load_state("load")
    page.get_by_test_id("user-menu").click()


def sign_out(page) -> None:
    open_user_menu(page)
    page.get_by_role("button", name="Sign out").click()
    navigation = page.get_by_role("navigation", name="Main navigation")
    expect(navigation.get_by_role("link", name="Sign in")).to_be_visible()


def expect_404(page, path: str):
    """Open ``path``, check it is a 404, and take that expected error out of the browser's log."""
    response = page.goto(path)
    assert response.status == 404, f"{path}: {response.status}"
    for entries in (page.log.failed_requests, page.log.console_errors):
        entries[:] = [entry for entry in entries if path not in entry]
    return response
