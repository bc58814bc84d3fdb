"""Shared set-up for the benchmarks: Django with throw-away databases of their own, never the real ones.

The databases are made the way the test runner makes them (named ``bench_<name>``, migrated, dropped at the end) on
the server the settings name: the embedded PostgreSQL by default, or ``DATABASE_URL`` /
``STREAMDATA_DATABASE_URL``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = "server.config.settings.test"


def django_setup() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The statics are not collected for benchmarks; whitenoise would say so on every request.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()


@contextmanager
def bench_databases() -> Iterator[None]:
    """Create, migrate and finally drop ``bench_*`` copies of both databases."""
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    for config in settings.DATABASES.values():
        config.setdefault("TEST", {})["NAME"] = f"bench_{config['NAME']}"
    old = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        teardown_databases(old, verbosity=0)


def database_url(alias: str) -> str:
    """A URL for the database behind ``alias`` (the embedded server's unix socket included), for subprocesses."""
    from django.db import connections

    config = connections[alias].settings_dict
    query = {}
    # A socket directory given as the URL's ?host= (docs/deploy.md) is in OPTIONS, and HOST is empty.
    host = config["HOST"] or config.get("OPTIONS", {}).get("host", "")
    if host.startswith("/"):
        query["host"] = host
        host = ""
    if config["PORT"]:
        query["port"] = config["PORT"]
    url = f"postgres://{config['USER']}:{config['PASSWORD'] or ''}@{host}/{config['NAME']}"
    return f"{url}?{urlencode(query)}" if query else url


def subprocess_env(data_dir: Path) -> dict[str, str]:
    """Environment for a ``manage.py`` subprocess on the bench databases and stores."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url("default"),
        "STREAMDATA_DATABASE_URL": database_url("streamdata"),
        "LOCAL_DATA_DIR": str(data_dir),
        "WORKER_QUEUE": "postgres",
        # A worker keeps its database connections between messages, as a deployed one should.
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell.rjust(width) if i else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


# The web server, as a user runs it ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(kind: str, data_dir: Path, conn_max_age: int | None = None) -> dict[str, str]:
    """The web server's environment: the bench databases under the settings a user runs (``inv run-local``'s local
    settings, debug on for runserver; off for gunicorn, as deployed), with this process's secret key so tokens made
    here are valid there, and the settings' own ``CONN_MAX_AGE`` unless one is given."""
    from django.conf import settings

    environment = subprocess_env(data_dir)
    environment.update(DJANGO_SETTINGS_MODULE="server.config.settings.local", DJANGO_SECRET_KEY=settings.SECRET_KEY)
    if kind == "gunicorn":
        environment["DJANGO_DEBUG"] = "false"
    environment.pop("CONN_MAX_AGE")
    if conn_max_age is not None:
        environment["CONN_MAX_AGE"] = str(conn_max_age)
    return environment


def start_server(kind: str, port: int, environment: dict[str, str], tree: Path = ROOT) -> subprocess.Popen:
    """``gunicorn`` (gunicorn.conf.py, docs/deploy.md, one worker) or ``runserver`` (as ``inv run-local``) of the
    checkout ``tree`` (this one unless given), once it accepts connections on ``port``."""
    python = sys.executable
    if kind == "gunicorn":
        command = [python, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1"]
    else:
        command = [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    # Its messages go to a file (a pipe nobody reads would fill and stall it).
    log = tempfile.TemporaryFile()  # noqa: SIM115 (open while the server runs)
    server = subprocess.Popen(command, cwd=tree, env=environment, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            sys.exit(f"the {kind} server stopped: {log.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit(f"the {kind} server did not start")
