"""Developer tasks (invoke): ``inv run-local``, ``inv test``, ``inv migrate``, ``inv makemigrations``,
``inv build-statics``, ``inv worker``, ``inv lint``, ``inv bench``, ``inv screenshots``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from invoke import task

ROOT = Path(__file__).resolve().parent
WEBAPP = ROOT / "webapp"
PYTHON = sys.executable


def _manage(c, command: str, **kwargs):
    return c.run(f"{PYTHON} manage.py {command}", **kwargs)


def _newest_mtime(*paths: Path) -> float:
    files = [f for p in paths if p.exists() for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return max((f.stat().st_mtime for f in files), default=0.0)


def _statics_missing() -> bool:
    """Whether the bundle must be (re)built: never built, or its sources changed since the last build."""
    if not (WEBAPP / "package.json").exists():
        return False
    marker = WEBAPP / "dist" / ".built"
    if not marker.exists():
        return True
    sources = (WEBAPP / "src", WEBAPP / "build.mjs", WEBAPP / "package.json", WEBAPP / "package-lock.json")
    return _newest_mtime(*sources) > marker.stat().st_mtime


def _node_modules_stale() -> bool:
    # npm writes node_modules/.package-lock.json on every install; older than the lock file means out of date.
    installed = WEBAPP / "node_modules" / ".package-lock.json"
    return not installed.exists() or installed.stat().st_mtime < (WEBAPP / "package-lock.json").stat().st_mtime


def _npm_install(c) -> None:
    """The front-end packages (the bundle's and ESLint), installed when the lock file changed."""
    if shutil.which("npm") is None:
        sys.exit("inv build-statics and inv lint need Node.js and npm (Debian: apt-get install nodejs npm).")
    if _node_modules_stale():
        with c.cd(str(WEBAPP)):
            c.run("npm ci --no-audit --no-fund")


@task
def build_statics(c):
    """Install the front-end packages (when the lock file changed) and build the bundle into webapp/dist, which
    whitenoise serves. After the first install this runs offline."""
    _npm_install(c)
    with c.cd(str(WEBAPP)):
        c.run("npm run build")


@task
def migrate(c):
    """Apply migrations to both databases."""
    _manage(c, "migrate --noinput")
    _manage(c, "migrate --noinput --database streamdata")


@task
def makemigrations(c, app=""):
    """Create migrations for model changes."""
    _manage(c, f"makemigrations {app}")


@task
def worker(c):
    """Run the queue worker in the foreground."""
    _manage(c, "worker")


@task(help={"port": "port to serve on (default 8000)", "host": "address to bind (default 127.0.0.1)"})
def run_local(c, port=8000, host="127.0.0.1"):
    """Run the platform: web server (dashboard and API) on http://HOST:PORT plus a queue worker."""
    if _statics_missing():
        build_statics(c)
    migrate(c)
    # A starting catalog (variable types, device templates, sensor graphs); existing entries are kept.
    _manage(c, "seed_catalog")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = []
    if (ROOT / "server" / "apps" / "worker" / "management" / "commands" / "worker.py").exists():
        processes.append(subprocess.Popen([PYTHON, "manage.py", "worker"], cwd=ROOT, env=env))
    processes.append(subprocess.Popen([PYTHON, "manage.py", "runserver", f"{host}:{port}"], cwd=ROOT, env=env))
    print(f"Serving on http://{host}:{port}/ (Ctrl-C stops the web server and the worker)", flush=True)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    sys.exit(max((p.returncode or 0) for p in processes))


@task
def lint(c):
    """Ruff (lint and format), djLint on the templates, ESLint on the front-end scripts, Django's system checks and
    the migrations check."""
    c.run(f"{PYTHON} -m ruff check .")
    c.run(f"{PYTHON} -m ruff format --check .")
    c.run(f"{PYTHON} -m djlint server/templates --lint")
    _npm_install(c)
    with c.cd(str(WEBAPP)):
        c.run("npm run lint")
    _manage(c, "check")
    _manage(c, "makemigrations --check --dry-run")


@task(
    help={
        "which": "ingest, query, stream or all (default all)",
        "readings": "ingest: readings in total per run, comma-separated (default 10000,100000,1000000)",
        "rows": "query: rows in the stream-data table (default 10000000)",
    }
)
def bench(c, which="all", readings="10000,100000,1000000", rows=10_000_000):
    """Run the benchmarks in bench/ on throw-away databases: ingest throughput through the worker against the ORM
    and a raw COPY, stream-data query latency, and the stream page on a million readings. They print figures; they
    are not tests."""
    if which in ("ingest", "all"):
        c.run(f"{PYTHON} bench/ingest.py --readings {readings}", pty=False)
    if which in ("query", "all"):
        c.run(f"{PYTHON} bench/query.py --rows {rows}", pty=False)
    if which in ("stream", "all"):
        c.run(f"{PYTHON} bench/stream_page.py", pty=False)


@task
def screenshots(c):
    """Save the dashboard's screenshots in docs/screenshots/ from seeded demo data (headless Chromium, test
    databases)."""
    if _statics_missing():
        build_statics(c)
    c.run(f"{PYTHON} tests/browser/screenshots.py", pty=False)
    # The stream page's, from a week of readings (its test saves it when told where).
    shot = {"IOTILE_STREAM_SCREENSHOT": str(ROOT / "docs/screenshots/stream.png")}
    c.run(f"{PYTHON} -m pytest -q -p no:cacheprovider tests/browser/test_stream_page.py -k week", env=shot, pty=False)


@task(help={"path": "tests to run (default: all)", "k": "pytest -k expression"})
def test(c, path="", k=""):
    """Run the whole test suite (lint and checks first). Builds the statics when they are missing."""
    if _statics_missing():
        build_statics(c)
    lint(c)
    selector = f" -k '{k}'" if k else ""
    c.run(f"{PYTHON} -m pytest {path}{selector}", pty=False)
