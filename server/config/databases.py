"""Where the two databases live.

With ``DATABASE_URL`` and ``STREAMDATA_DATABASE_URL`` set, those servers are used. Without them the platform
starts (or joins) an embedded PostgreSQL cluster from the ``pgserver`` package, kept in a git-ignored folder and
shared by every process on the machine (web, worker, ``manage.py``); it stops when the last of them exits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ

DEFAULT_DATABASE_NAME = "iotile"
STREAMDATA_DATABASE_NAME = "iotile_streamdata"

# Keeps the embedded server's handle alive for the life of the process.
_embedded_server: Any = None


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
        databases[alias]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
        databases[alias].setdefault("TEST", {})["NAME"] = f"test_{databases[alias]['NAME']}"
    return databases
