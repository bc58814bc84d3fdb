"""Helpers for the tests that start the platform's real processes: the run command, gunicorn, nginx."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from server.apps.worker.tests.conftest import database_url

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition, what: str, timeout: float = 60.0, interval: float = 0.1):
    """Poll ``condition`` until it returns something true, and return that; fail after ``timeout`` seconds (a
    guard against hanging, not a claim about speed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"gave up waiting for {what}")


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[int, dict, bytes]:
    """Status, headers (lower-case names) and body of a GET, following no redirect; (0, {}, b"") when nothing
    answers."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, {}, b""


class Output:
    """Collects a process's output lines in a thread, so the test can wait for a line without blocking on a pipe."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def test_database_environment(transactional_db) -> dict[str, str]:
    """Variables that point a subprocess at this test's databases (committed rows only)."""
    return {"DATABASE_URL": database_url("default"), "STREAMDATA_DATABASE_URL": database_url("streamdata")}


def process_environment(**variables: str) -> dict[str, str]:
    """The test run's environment without its Django settings choice, plus ``variables``."""
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    return {**environment, "PYTHONUNBUFFERED": "1", **variables}
