"""Developer tasks (invoke): ``inv run-local``, ``inv test``, ``inv migrate``, ``inv makemigrations``,
``inv build-statics``, ``inv worker``, ``inv lint``, ``inv bench``."""

from __future__ import annotations

import os
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


def _statics_missing() -> bool:
    return (WEBAPP / "package.json").exists() and not (WEBAPP / "dist" / ".built").exists()


@task
def build_statics(c):
    """Install the front-end packages and build the bundle into webapp/dist (served by whitenoise)."""
    with c.cd(str(WEBAPP)):
        c.run("npm ci --no-audit --no-fund" if (WEBAPP / "package-lock.json").exists() else "npm install --no-audit")
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
    """Ruff (lint and format), Django's system checks and the migrations check."""
    c.run(f"{PYTHON} -m ruff check .")
    c.run(f"{PYTHON} -m ruff format --check .")
    _manage(c, "check")
    _manage(c, "makemigrations --check --dry-run")


@task(help={"path": "tests to run (default: all)", "k": "pytest -k expression"})
def test(c, path="", k=""):
    """Run the whole test suite (lint and checks first). Builds the statics when they are missing."""
    if _statics_missing():
        build_statics(c)
    lint(c)
    selector = f" -k '{k}'" if k else ""
    c.run(f"{PYTHON} -m pytest {path}{selector}", pty=False)
