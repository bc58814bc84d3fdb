"""Where the two databases live.

With ``DATABASE_URL`` and ``STREAMDATA_DATABASE_URL`` set, those servers are used. Without them the platform
starts (or joins) an embedded PostgreSQL cluster from the ``pgserver`` package, kept in a git-ignored folder and
shared by every process on the machine (web, worker, ``manage.py``); it stops when the last of them exits.
"""

from __future__ import annotations

import atexit
import json
import os
from pathlib import Path
from typing import Any

import environ

DEFAULT_DATABASE_NAME = "iotile"
STREAMDATA_DATABASE_NAME = "iotile_streamdata"
# pgserver's list of the processes holding the embedded cluster, in its data folder.
HOLDERS_FILE = ".handle_pids.json"

# Keeps the embedded server's handle alive for the life of the process.
_embedded_server: Any = None


def forget_dead_holders(data_dir: Path) -> None:
    """Take the processes that no longer exist off pgserver's list of the cluster's holders.

    pgserver stops the cluster when the last process on its list (``.handle_pids.json`` in the data folder) exits.
    A process killed outright (the worker under SIGKILL, the development server's child killed by its reloader)
    never takes itself off, and the cluster would outlive every process that used it. Run at exit, before pgserver
    looks at the list, so the last live process still stops the cluster."""
    import psutil

    path = data_dir / HOLDERS_FILE
    try:
        holders = json.loads(path.read_text())
    except (OSError, ValueError):
        return

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    living = [pid for pid in holders if pid == os.getpid() or alive(pid)]
    if living != holders:
        path.write_text(json.dumps(living))


def _embedded_settings(data_dir: Path, name: str) -> dict[str, Any]:
    global _embedded_server
    if _embedded_server is None:
        import logging
        import warnings

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _embedded_server = pgserver.get_server(data_dir, cleanup_mode="stop")
        # Registered after pgserver's own exit handler, so it runs first (atexit runs the last registered first).
        atexit.register(forget_dead_holders, data_dir)
    info = _embedded_server.get_postmaster_info()
    exists = _embedded_server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in exists:
        _embedded_server.psql(f'CREATE DATABASE "{name}";')
    host = str(info.socket_dir) if info.socket_dir else info.hostname
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": host,
        "PORT": str(info.port or ""),
    }


def database_settings(env: environ.Env, data_dir: Path) -> dict[str, dict[str, Any]]:
    """Build ``DATABASES`` for the ``default`` and ``streamdata`` aliases."""
    databases: dict[str, dict[str, Any]] = {}
    for alias, variable, embedded_name in (
        ("default", "DATABASE_URL", DEFAULT_DATABASE_NAME),
        ("streamdata", "STREAMDATA_DATABASE_URL", STREAMDATA_DATABASE_NAME),
    ):
        if env.str(variable, default=""):
            databases[alias] = env.db_url(variable)
        else:
            databases[alias] = _embedded_settings(data_dir / "pgdata", embedded_name)
        databases[alias]["ATOMIC_REQUESTS"] = False
        # Connections are kept between requests: opening one costs more than a small read. (No health check before
        # each request either, which would be one more round trip: a connection that broke fails one request and
        # Django then drops it.)
        databases[alias]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        databases[alias].setdefault("TEST", {})["NAME"] = f"test_{databases[alias]['NAME']}"
    return databases
