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
from django.db.migrations.executor import MigrationExecutor

from conftest import skip_or_fail
from server.apps.core.testing_databases import ALIASES, migration_files, migrations_digest, run_name, template_name

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


def test_each_process_runs_on_a_fully_migrated_copy_of_the_run_template(db, request):
    suffix = f"_{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else ""
    # The run's id, which xdist shares with its processes, is in the name unless the databases are kept.
    run_id = "" if request.config.getvalue("reuse_db") else os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:8]
    digest = migrations_digest(migration_files())
    for alias in ALIASES:
        connection = connections[alias]
        name = connection.settings_dict["NAME"]
        assert name == connection.settings_dict["TEST"]["NAME"]
        assert name.startswith("test_")
        assert name.endswith(suffix)
        assert f"_{run_id}" in name
        executor = MigrationExecutor(connection)
        assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
        with connection.cursor() as cursor:
            # Read from pg_database only: a connection to the template would stop another process copying it.
            cursor.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s",
                [template_name(name.removesuffix(suffix), digest)],
            )
            assert cursor.fetchone() == (1,)


def test_two_runs_on_one_server_name_their_databases_apart():
    # A run in CI and one on a developer's machine, each with two processes, on one PostgreSQL server.
    names = {
        name
        for run_id in ("1f2e3d4c", "5a6b7c8d")
        for suffix in ("gw0", "gw1")
        for name in (
            run_name("test_iotile_" + suffix, suffix, run_id),
            template_name(run_name("test_iotile_" + suffix, suffix, run_id, copy=False), "d1g35t"),
        )
    }
    assert names == {
        "test_iotile_1f2e3d4c_gw0",
        "test_iotile_1f2e3d4c_gw1",
        "test_iotile_1f2e3d4c_tpl_d1g35t",
        "test_iotile_5a6b7c8d_gw0",
        "test_iotile_5a6b7c8d_gw1",
        "test_iotile_5a6b7c8d_tpl_d1g35t",
    }
    # Kept databases (--reuse-db, no run id) keep pytest-django's names; a run in one process has no suffix.
    assert run_name("test_iotile_gw0", "gw0", "") == "test_iotile_gw0"
    assert run_name("test_iotile_gw0", "gw0", "", copy=False) == "test_iotile"
    assert run_name("test_iotile", "", "1f2e3d4c") == run_name("test_iotile", "", "1f2e3d4c", copy=False)


def test_the_digest_follows_the_migrations_and_the_modules_they_import(tmp_path):
    files = migration_files()
    assert REPO_ROOT / "server/apps/streamdata/partitions.py" in files
    assert REPO_ROOT / "server/apps/stream/migrations/0001_initial.py" in files
    copies = []
    for path in files[:3]:
        copy = tmp_path / path.parent.name / path.name
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(path.read_bytes())
        copies.append(copy)
    digest = migrations_digest(copies)
    assert migrations_digest(list(copies)) == digest
    copies[1].write_bytes(copies[1].read_bytes() + b"\n# changed\n")
    assert migrations_digest(copies) != digest
    assert migrations_digest(copies[:2]) != migrations_digest(copies)


@pytest.mark.services
def test_configured_servers_run_the_router_tests():
    """Run the routing tests in two processes whose settings point at a configured PostgreSQL server, on databases
    no run has made: their template is migrated from scratch whatever the flags of this run (docs/testing.md), and
    neither it nor the copies are left on the server afterwards."""
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
            "-n",
            "2",
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
    with psycopg2.connect(server_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"%{suffix}%"])
        assert cursor.fetchall() == []
