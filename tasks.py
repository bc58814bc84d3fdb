"""Developer tasks (invoke): ``inv run-local``, ``inv test``, ``inv migrate``, ``inv makemigrations``,
``inv build-statics``, ``inv worker``, ``inv lint``, ``inv bench``, ``inv screenshots``, ``inv schemathesis``,
``inv fuzz``."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from invoke import task

from server.config.supervisor import Program, Supervisor

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


def local_programs(host: str, port: int) -> list[Program]:
    """What ``inv run-local`` keeps running, one entry per process (``when_set``: only with that variable set)."""
    manage = (PYTHON, "manage.py")
    return [
        Program("web", (*manage, "runserver", f"{host}:{port}")),
        Program("worker", (*manage, "worker")),
        # The MQTT bridge (docs/operations.md), only when a broker is configured.
        Program("mqtt-bridge", (*manage, "mqtt_bridge"), when_set="MQTT_URL"),
    ]


@task(help={"port": "port to serve on (default 8000)", "host": "address to bind (default 127.0.0.1)"})
def run_local(c, port=8000, host="127.0.0.1"):
    """Run the platform: web server (dashboard and API) on http://HOST:PORT plus a queue worker. A process that
    exits is restarted with backoff while the others keep serving; Ctrl-C stops them all."""
    if _statics_missing():
        build_statics(c)
    migrate(c)
    # A starting catalog (variable types, device templates, sensor graphs); existing entries are kept.
    _manage(c, "seed_catalog")
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    supervisor = Supervisor(local_programs(host, int(port)), cwd=ROOT, environment=environment)
    print(f"Serving on http://{host}:{port}/ (Ctrl-C stops the web server and the worker)", flush=True)
    sys.exit(supervisor.run())


@task
def lint(c):
    """Ruff (lint and format), mypy, djLint on the templates, ESLint on the front-end scripts, Django's system checks
    and the migrations check."""
    c.run(f"{PYTHON} -m ruff check .")
    c.run(f"{PYTHON} -m ruff format --check .")
    c.run(f"{PYTHON} -m mypy")
    c.run(f"{PYTHON} -m djlint server/templates --lint")
    _npm_install(c)
    with c.cd(str(WEBAPP)):
        c.run("npm run lint")
    _manage(c, "check")
    _manage(c, "makemigrations --check --dry-run")


# The list of modules held to strict mode in pyproject.toml, between these two lines.
STRICT_BEGIN = "    # BEGIN strict modules (inv mypy-strict --write)"
STRICT_END = "    # END strict modules"


def _checked_modules() -> list[str]:
    """The modules mypy checks: server/ less tests, test helpers and migrations (pyproject.toml's exclude)."""
    skipped = {"tests", "migrations"}
    modules = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if skipped & set(relative.parts) or path.name in ("testing.py", "testing_aws.py", "testing_databases.py"):
            continue
        parts = relative.with_suffix("").parts
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


@task(help={"write": "rewrite the strict list in pyproject.toml (it may only grow, or lose modules that are gone)"})
def mypy_strict(c, write=False):
    """List the modules that pass mypy's strict mode: those pyproject.toml may hold to it. Run it after adding or
    typing a module; --write puts the list into pyproject.toml."""
    run = c.run(f"{PYTHON} -m mypy --strict --no-error-summary", warn=True, hide=True)
    failing = {line.split(":", 1)[0] for line in run.stdout.splitlines() if ": error:" in line}
    failing_modules = {".".join(Path(path).with_suffix("").parts).removesuffix(".__init__") for path in failing}
    modules = _checked_modules()
    passing = [module for module in modules if module not in failing_modules]
    text = (ROOT / "pyproject.toml").read_text()
    head, rest = text.split(STRICT_BEGIN + "\n")
    listed, tail = rest.split(STRICT_END + "\n")
    current = {line.strip().strip('",') for line in listed.splitlines() if line.strip()}
    added = sorted(set(passing) - current)
    lost = sorted(current - set(passing))
    print(f"{len(passing)} of {len(modules)} modules pass strict; pyproject.toml holds {len(current)} to it.")
    print("New to strict:" if added else "No module new to strict.", *added, sep="\n  ")
    regressed = [module for module in lost if module in modules]
    if regressed:
        print("Held to strict but failing it (fix them; the list never loosens):", *regressed, sep="\n  ")
    if write:
        if regressed:
            sys.exit("Not written: the modules above would leave the strict list.")
        lines = "".join(f'    "{module}",\n' for module in passing)
        (ROOT / "pyproject.toml").write_text(f"{head}{STRICT_BEGIN}\n{lines}{STRICT_END}\n{tail}")
        print(f"Wrote {len(passing)} modules to pyproject.toml.")


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


# The lowest total coverage of server/ (per cent) the whole suite may reach; it only rises (docs/testing.md).
COVERAGE_FLOOR = ROOT / ".coverage-floor"
# How far above the floor a run may be before it asks for the floor to be raised.
COVERAGE_SLACK = 1.0


def _coverage_check(c) -> None:
    """Fail when the total coverage of the run just made is below the floor; suggest raising the floor when it is
    well above it."""
    floor = float(COVERAGE_FLOOR.read_text().strip())
    total = float(c.run(f"{PYTHON} -m coverage report --format=total --precision=1", hide=True).stdout.strip())
    print(f"Coverage of server/: {total:.1f}% (floor {floor:.1f}%, .coverage-floor)", flush=True)
    if total < floor:
        sys.exit(
            f"Coverage fell to {total:.1f}%, below the floor of {floor:.1f}%: test the code you added or changed "
            f"(python -m coverage report --sort=cover lists the least covered files)."
        )
    if total >= floor + COVERAGE_SLACK:
        print(f"Coverage is {total - floor:.1f} points above the floor: raise .coverage-floor to {total:.1f}.")


@task(
    help={
        "path": "tests to run (default: all)",
        "k": "pytest -k expression",
        "workers": "test processes (pytest-xdist; default 4 for the whole suite, 1 for a partial run; 0 = in-process)",
    }
)
def test(c, path="", k="", workers=None):
    """Run the whole test suite (lint and checks first). Builds the statics when they are missing. The whole suite
    measures the coverage of server/ and fails below the floor in .coverage-floor; a partial run (--path, --k)
    measures nothing. The whole suite runs in four processes by default, each with its own test databases, broker and
    browser: most tests wait on a service or a child process, so that is faster than one even on two cores."""
    if _statics_missing():
        build_statics(c)
    lint(c)
    selector = f" -k '{k}'" if k else ""
    whole = not path and not k
    # The whole suite lists its slowest tests, so a run's tail can be found from its log.
    whole_options = " --cov --cov-report= --durations=25" if whole else ""
    processes = int(workers) if workers is not None else (4 if whole else 0)
    spread = f" -n {processes} --dist loadfile" if processes else ""
    c.run(f"{PYTHON} -m pytest{whole_options}{spread} {path}{selector}", pty=False)
    if whole:
        _coverage_check(c)


@task(help={"examples": "examples per operation and generation mode, for each role (default 50)"})
def schemathesis(c, examples=50):
    """Run schemathesis over every API operation as a member and as staff with more examples than CI does
    (server/apps/core/tests/test_api_fuzz.py; docs/security.md). Prints how many requests each role made."""
    env = {"API_FUZZ_EXAMPLES": str(examples)}
    c.run(f"{PYTHON} -m pytest -q -s -p no:cacheprovider server/apps/core/tests/test_api_fuzz.py", env=env, pty=False)


@task(
    help={"seconds": "how long atheris runs (default 300)", "examples": "hypothesis examples per test (default 5000)"}
)
def fuzz(c, seconds=300, examples=5000):
    """Fuzz the report parsers: the hypothesis tests with more examples, then atheris, coverage-guided, on the same
    check for ``seconds`` (server/apps/streamer/tests/fuzz_reports.py; docs/security.md)."""
    env = {"REPORT_FUZZ_EXAMPLES": str(examples)}
    c.run(
        f"{PYTHON} -m pytest -q -p no:cacheprovider server/apps/streamer/tests/test_reports_fuzz.py", env=env, pty=False
    )
    corpus = ROOT / ".local" / "fuzz-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    c.run(f"{PYTHON} -m server.apps.streamer.tests.fuzz_reports -max_total_time={seconds} {corpus}", pty=False)
