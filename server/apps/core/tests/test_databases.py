"""Both database paths: the embedded default and configured servers (this machine's PostgreSQL in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.db import connections

from conftest import skip_or_fail

REPO_ROOT = Path(__file__).resolve().parents[4]


def test_both_aliases_are_configured():
    assert set(settings.DATABASES) == {"default", "streamdata"}
    assert settings.DATABASES["default"]["NAME"] != settings.DATABASES["streamdata"]["NAME"]


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="the suite runs on a configured server")
def test_embedded_cluster_holds_both_databases(db):
    default, streamdata = (connections[alias].settings_dict for alias in ("default", "streamdata"))
    assert default["HOST"] == streamdata["HOST"]
    assert Path(default["HOST"]).is_dir(), "the embedded server is reached through its unix socket folder"
    for alias in ("default", "streamdata"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone()[0] == connections[alias].settings_dict["NAME"]


@pytest.mark.services
def test_configured_servers_run_the_router_tests():
    """Run the routing tests in a subprocess whose settings point at a configured PostgreSQL server."""
    server_url = os.environ.get("IOTILE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    try:
        psycopg2.connect(server_url, connect_timeout=3).close()
    except psycopg2.OperationalError as exc:
        skip_or_fail(f"no PostgreSQL server at {server_url}: {exc}")
    base = server_url.rsplit("/", 1)[0]
    suffix = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DATABASE_URL": f"{base}/iotile_cfg_{suffix}",
        "STREAMDATA_DATABASE_URL": f"{base}/iotile_cfg_data_{suffix}",
        "DJANGO_SETTINGS_MODULE": "server.config.settings.test",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--create-db",
            "server/apps/core/tests/test_router.py",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "passed" in result.stdout
