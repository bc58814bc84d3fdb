from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import connections

from server.apps.worker.tests.actions import register_test_actions, unregister_test_actions
from server.apps.worker.transports.postgres import PostgresTransport

REPO_ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(autouse=True)
def test_actions():
    register_test_actions()
    yield
    unregister_test_actions()


@pytest.fixture
def transport(settings) -> Iterator[PostgresTransport]:
    settings.WORKER_QUEUE = "postgres"
    transport = PostgresTransport()
    yield transport
    transport.close()  # its LISTEN connection, if a receive waited


@pytest.fixture
def call_log(tmp_path) -> Path:
    return tmp_path / "calls.log"


def database_url(alias: str) -> str:
    """A URL for the test database behind ``alias`` (also when it is the embedded server's unix socket)."""
    config = connections[alias].settings_dict
    query = {}
    host = config["HOST"] or ""
    if host.startswith("/"):
        query["host"] = host
        host = ""
    if config["PORT"]:
        query["port"] = config["PORT"]
    netloc = f"{config['USER']}:{config['PASSWORD'] or ''}@{host}"
    url = f"postgres://{netloc}/{config['NAME']}"
    return f"{url}?{urlencode(query)}" if query else url


@pytest.fixture
def subprocess_env(transactional_db, tmp_path) -> dict[str, str]:
    """Environment for a ``manage.py`` subprocess that uses this test's databases (committed rows only)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "server.config.settings.test",
        "DATABASE_URL": database_url("default"),
        "STREAMDATA_DATABASE_URL": database_url("streamdata"),
        "PYTHONUNBUFFERED": "1",
        "WORKER_QUEUE": "postgres",
        "WORKER_POLL_INTERVAL": "0.1",
        "LOG_LEVEL": "INFO",
    }
