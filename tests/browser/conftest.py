"""Browser tests: the platform served by pytest-django's ``live_server`` (in this process, on the test databases),
driven by Playwright for Python through Debian's Chromium.

Fixtures:

* ``page``: a fresh browser page whose relative URLs go to the live server. Everything it does is recorded in
  ``page.log`` (a :class:`BrowserLog`): console errors, uncaught page errors, failed or 4xx/5xx responses, and any
  request to a host other than the live server (those are blocked, so a CDN reference fails loudly). The test
  fails if the log is not clean, and a failing test leaves a screenshot and the log in ``test-artifacts/``.
* ``sign_in(user)``: signs ``page`` in as ``user`` without the login form (for tests about other pages).
* ``mailoutbox`` (pytest-django): the e-mails the live server sent, e.g. the verification link.

Tests that put data in the database must see it from the server's threads, so the root conftest makes every test
that uses ``live_server`` transactional. Mark browser tests ``@pytest.mark.browser``.

Chromium missing (``apt-get install chromium``) means a skip locally and a failure in CI (``skip_or_fail``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import skip_or_fail

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("IOTILE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Playwright waits this long for an element or a navigation; generous, so a slow machine is not a failure.
TIMEOUT_MS = 15_000


@dataclass
class BrowserLog:
    """What a page did that a healthy dashboard never does."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [
            *(f"console error: {m}" for m in self.console_errors),
            *(f"page error: {m}" for m in self.page_errors),
            *(f"failed request: {m}" for m in self.failed_requests),
            *(f"request to another host: {m}" for m in self.external_requests),
        ]

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "the browser saw problems:\n" + "\n".join(problems)

    def clear(self) -> None:
        for name in ("console_errors", "page_errors", "failed_requests", "external_requests", "console"):
            getattr(self, name).clear()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keeps each phase's report on the test item, so the page fixture knows whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def _chromium() -> Path:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -r requirements/test.txt)")
    return CHROMIUM


@pytest.fixture(scope="session")
def _statics_built() -> None:
    """The pages need the front-end bundle; build it here when `inv test` has not."""
    from invoke import Context

    import tasks

    if tasks._statics_missing():
        try:
            tasks.build_statics(Context())
        except BaseException as error:  # invoke exits with SystemExit or UnexpectedExit
            skip_or_fail(f"the front-end bundle could not be built: {error}")


@pytest.fixture
def browser(_chromium, _statics_built, monkeypatch):
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do: a loaded machine is not a failure.
    expect.set_options(timeout=TIMEOUT_MS)
    # Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM calls when it sees
    # one. Nothing runs concurrently here (each Playwright call blocks), so the ORM is safe to use in the test.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
        # Connections the test opened while the loop ran are kept apart from the rest (asgiref's context-local
        # storage); close them here, or they outlive the test and block the test databases' teardown.
        connections.close_all()


def _is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or (parts.hostname or "") in LOOPBACK_HOSTS


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[-150:]


@pytest.fixture
def page(browser, live_server, request):
    # Reduced motion: Bootstrap then skips its transitions, so a form that slides open is ready when it is shown.
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 860}, reduced_motion="reduce"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    log = BrowserLog()
    page.log = log

    def on_console(message):
        log.console.append(f"{message.type}: {message.text}")
        if message.type == "error":
            log.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def on_response(response):
        if response.status >= 400:
            log.failed_requests.append(f"{response.status} {response.request.method} {response.url}")

    def on_request_failed(request_):
        # ERR_ABORTED is a load the page itself cancelled (it navigated on); an error status shows in on_response.
        if _is_loopback(request_.url) and "ERR_ABORTED" not in (request_.failure or ""):
            log.failed_requests.append(f"{request_.failure} {request_.method} {request_.url}")

    def guard(route):
        if _is_loopback(route.request.url):
            route.continue_()
        else:
            log.external_requests.append(route.request.url)
            route.abort("blockedbyclient")

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    context.route("**/*", guard)

    yield page

    failed = any(
        getattr(request.node, f"report_{when}", None) and getattr(request.node, f"report_{when}").failed
        for when in ("setup", "call")
    )
    problems = log.problems()
    if failed or problems:
        ARTIFACTS.mkdir(exist_ok=True)
        name = _artifact_name(request.node.nodeid)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception:  # a crashed page cannot be photographed; the log below still says what happened
            pass
        (ARTIFACTS / f"{name}.log").write_text(
            f"url: {page.url}\n\n" + "\n".join([*problems, "", "console:", *log.console]) + "\n"
        )
    context.close()
    if not failed:
        log.assert_clean()


@pytest.fixture
def sign_in(page, live_server):
    """``sign_in(user)``: gives ``page`` a session for ``user``, as if they had logged in."""
    from django.conf import settings
    from django.test import Client

    def sign_in(user):
        client = Client()
        client.force_login(user)
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        return page

    return sign_in
