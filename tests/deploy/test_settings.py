"""The settings' secrets: the development key is random, private and kept; production refuses to start without its
secrets, is clean under ``check --deploy``, and reports errors to Sentry when ``SENTRY_DSN`` is set."""

from __future__ import annotations

import gzip
import importlib
import json
import os
import secrets
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from server.apps.core.logs import log_context
from server.config.databases import HOLDERS_FILE, forget_dead_holders
from server.config.error_reporting import _tag_with_ids
from server.config.secret_key import local_secret_key
from server.config.settings.environment import PRODUCTION_REQUIRED, production_environment_problems

REPO_ROOT = Path(__file__).resolve().parents[2]
# Parsed, never connected to: the settings only read them.
UNREACHABLE_DATABASES = {
    "DATABASE_URL": "postgres://iotile@127.0.0.1:9/iotile",
    "STREAMDATA_DATABASE_URL": "postgres://iotile@127.0.0.1:9/iotile_streamdata",
}


def production_environment(**overrides: str) -> dict[str, str]:
    """A complete production environment (the variables a deployment must set), then ``overrides``."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "iot.example.com",
        **UNREACHABLE_DATABASES,
        **overrides,
    }


def run_python(code: str, environment: dict[str, str], settings: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with only ``environment`` (plus PATH and HOME): nothing leaks in from the
    test run's own variables."""
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "DJANGO_SETTINGS_MODULE": settings}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**base, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def manage(args: str, environment: dict[str, str], settings: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys; sys.argv = ['manage.py', *{args.split()!r}]; import manage; manage.main()"
    return run_python(code, environment, settings)


# The development key


def test_the_local_key_is_made_once_readable_by_its_owner_only(tmp_path):
    key = local_secret_key(tmp_path / "local")
    path = tmp_path / "local" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 50
    assert local_secret_key(tmp_path / "local") == key
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"], "no candidate file is left behind"
    assert local_secret_key(tmp_path / "other") != key


def test_processes_starting_together_agree_on_one_key(tmp_path):
    code = (
        "import sys, pathlib; from server.config.secret_key import local_secret_key; "
        "print(local_secret_key(pathlib.Path(sys.argv[1])))"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in starts}
    assert keys == {(tmp_path / "secret_key").read_text().strip()}


def test_the_local_settings_sign_with_the_kept_key(tmp_path):
    environment = {"LOCAL_DATA_DIR": str(tmp_path), **UNREACHABLE_DATABASES}
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    first = run_python(code, environment, "server.config.settings.local")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == (tmp_path / "secret_key").read_text().strip()
    assert run_python(code, environment, "server.config.settings.local").stdout == first.stdout
    chosen = run_python(code, {**environment, "DJANGO_SECRET_KEY": "x" * 60}, "server.config.settings.local")
    assert chosen.stdout.strip() == "x" * 60


# Production


@pytest.mark.parametrize("missing", PRODUCTION_REQUIRED)
def test_production_refuses_to_start_without_a_required_variable(missing):
    environment = production_environment()
    del environment[missing]
    result = manage("check", environment, "server.config.settings.production")
    assert result.returncode != 0
    assert f"The production settings refuse to start: {missing} is not set." in result.stderr


@pytest.mark.parametrize(
    "weak", ["short-key", "a" * 80, "django-insecure-" + secrets.token_urlsafe(50)], ids=["short", "one-char", "django"]
)
def test_production_refuses_a_weak_secret_key(weak):
    result = manage("check", production_environment(DJANGO_SECRET_KEY=weak), "server.config.settings.production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak" in result.stderr


def test_every_problem_is_named_at_once():
    assert production_environment_problems({}) == [f"{name} is not set" for name in PRODUCTION_REQUIRED]
    assert production_environment_problems(production_environment()) == []


def test_check_deploy_is_clean_under_production_settings():
    result = manage(
        "check --deploy --fail-level WARNING", production_environment(), "server.config.settings.production"
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


# Error reporting


class _Envelopes(BaseHTTPRequestHandler):
    """Stands in for a Sentry server: keeps every envelope posted to it."""

    received: list[bytes]

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.received.append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Envelopes)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_an_error_reaches_sentry_with_its_ids_when_a_dsn_is_set(sentry_server):
    port = sentry_server.server_address[1]
    code = (
        "import logging, django, sentry_sdk; django.setup()\n"
        "from server.apps.core.logs import log_context\n"
        "with log_context(request='req-1', correlation='corr-1'):\n"
        "    logging.getLogger('server.test').error('the disk is on fire')\n"
        "sentry_sdk.flush(timeout=10)\n"
    )
    environment = production_environment(SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/1", SERVER_STAGE="ci")
    result = run_python(code, environment, "server.config.settings.production")
    assert result.returncode == 0, result.stderr
    # An envelope is JSON lines: a header, then each item's header and payload.
    items = [json.loads(line) for envelope in sentry_server.received for line in envelope.splitlines()]
    [event] = [item for item in items if "logentry" in item]
    assert event["logentry"]["message"] == "the disk is on fire"
    assert event["tags"] == {"request_id": "req-1", "correlation_id": "corr-1"}
    assert event["environment"] == "ci"
    # The JSON log line carries the same ids.
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert (line["message"], line["request_id"], line["correlation_id"]) == ("the disk is on fire", "req-1", "corr-1")


def test_without_a_dsn_nothing_is_reported():
    code = "import django, sentry_sdk; django.setup(); print(sentry_sdk.get_client().is_active())"
    result = run_python(code, production_environment(), "server.config.settings.production")
    assert result.stdout.strip() == "False", result.stderr


# The same, in this process (the subprocesses above prove the behaviour; these keep the modules measured)


def load_production(monkeypatch, environment: dict[str, str]):
    for name in PRODUCTION_REQUIRED:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("server.config.settings.production", None)
    try:
        return importlib.import_module("server.config.settings.production")
    finally:
        sys.modules.pop("server.config.settings.production", None)


def test_the_production_module_names_what_is_missing(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL is not set; STREAMDATA_DATABASE_URL is not set"):
        load_production(monkeypatch, {"DJANGO_SECRET_KEY": secrets.token_urlsafe(64), "DJANGO_ALLOWED_HOSTS": "a"})


def test_the_production_module_trusts_one_proxy_and_logs_json(monkeypatch):
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    production = load_production(monkeypatch, production_environment())
    assert production.DEBUG is False
    assert production.NUM_PROXIES == production.REST_FRAMEWORK["NUM_PROXIES"] == 1
    assert production.LOGGING["handlers"]["console"]["formatter"] == "json"
    assert production.SECURE_SSL_REDIRECT is True
    assert production.SENTRY_DSN == ""


def test_sentry_events_are_tagged_with_the_ids_of_their_work():
    with log_context(request="req-7", correlation="corr-7"):
        event = _tag_with_ids({"message": "x"}, {})
    assert event["tags"] == {"request_id": "req-7", "correlation_id": "corr-7"}
    assert _tag_with_ids({"tags": {"a": "b"}}, {})["tags"] == {"a": "b"}


def test_the_holders_of_a_gone_process_are_forgotten(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / HOLDERS_FILE).write_text(json.dumps([os.getpid(), gone.pid]))
    forget_dead_holders(tmp_path)
    assert json.loads((tmp_path / HOLDERS_FILE).read_text()) == [os.getpid()]
    forget_dead_holders(tmp_path / "missing")  # no list: nothing to do
