"""The platform as deployed: gunicorn (gunicorn.conf.py, production settings) behind the repository's nginx site
(nginx/templates/iotile.conf.template) run by Debian's nginx, each on a free port.

nginx serves the static files itself, refuses an oversized body with 413 before gunicorn sees it, passes the API
through with its request id, and overwrites the forwarded headers a client could forge."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from conftest import skip_or_fail
from server.apps.core.testing import make_user
from server.apps.core.testing_aws import _free_port
from server.apps.worker.tests.conftest import database_url
from server.config.healthcheck import web_is_healthy
from tests.deploy.conftest import REPO_ROOT, http_get, process_environment, wait_until
from tests.deploy.test_settings import production_environment

pytestmark = pytest.mark.live

NGINX = "/usr/sbin/nginx"
TEMPLATE = REPO_ROOT / "nginx" / "templates" / "iotile.conf.template"
MAX_BODY = 33 * 1024 * 1024  # NGINX_MAX_BODY_SIZE in docker-compose.yml


def render(template: str, values: dict[str, str]) -> str:
    """What the nginx image's envsubst step makes of the template: each ${NAME} replaced, nginx's $names kept."""
    names = set(re.findall(r"\$\{(\w+)\}", template))
    assert names <= set(values), f"the test does not fill in {sorted(names - set(values))}"
    return re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)], template)


def main_config(prefix: Path, site: Path) -> str:
    """A main nginx.conf around the site, everything under ``prefix`` (as the image's own nginx.conf does)."""
    # As root, nginx's workers would run as nobody, who cannot enter pytest's private temporary folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(
        f"{kind}_temp_path {prefix}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "include /etc/nginx/mime.types;\ndefault_type application/octet-stream;\n"
        f"access_log {prefix}/access.log;\n{temp}"
        f"include {site};\n"
        "}\n"
    )


class Stack:
    def __init__(self, tmp_path: Path, environment: dict[str, str]) -> None:
        self.tmp = tmp_path
        self.environment = environment
        self.gunicorn_port = _free_port()
        self.nginx_port = _free_port()
        self.static_root = tmp_path / "static"
        self.log = tmp_path / "gunicorn.log"
        self.processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    def start(self) -> None:
        collect = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=REPO_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert collect.returncode == 0, collect.stderr
        gunicorn_environment = {
            **self.environment,
            "GUNICORN_BIND": f"127.0.0.1:{self.gunicorn_port}",
            "GUNICORN_WORKERS": "2",
        }
        with self.log.open("w") as log:
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn"],
                    cwd=REPO_ROOT,
                    env=gunicorn_environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        site = self.tmp / "iotile.conf"
        site.write_text(
            render(
                TEMPLATE.read_text(),
                {
                    "NGINX_PORT": f"127.0.0.1:{self.nginx_port}",
                    "NGINX_UPSTREAM": f"127.0.0.1:{self.gunicorn_port}",
                    "NGINX_STATIC_ROOT": str(self.static_root),
                    "NGINX_MAX_BODY_SIZE": "33m",
                    "NGINX_FORWARDED_PROTO": "$scheme",
                },
            )
        )
        config = self.tmp / "nginx.conf"
        config.write_text(main_config(self.tmp, site))
        tested = subprocess.run([NGINX, "-t", "-c", str(config), "-p", str(self.tmp)], capture_output=True, text=True)
        assert tested.returncode == 0, tested.stderr
        self.processes.append(
            subprocess.Popen(
                [NGINX, "-c", str(config), "-p", str(self.tmp), "-g", "daemon off;"], start_new_session=True
            )
        )
        wait_until(lambda: http_get(f"{self.url}/nginx-health")[0] == 200, "nginx")
        wait_until(lambda: http_get(f"{self.url}/api/v1/server/")[0] == 200, f"gunicorn\n{self.log_text()}", 120)

    def stop_gunicorn(self) -> None:
        gunicorn = self.processes[0]
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=60)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def request_lines(self) -> list[dict]:
        """The JSON request log lines gunicorn's workers wrote."""
        lines = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                decoded = json.loads(line)
                if decoded["logger"] == "server.request":
                    lines.append(decoded)
        return lines


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    """One stack for the module, on the test databases (a test that needs rows commits them: transactional_db)."""
    tmp_path = tmp_path_factory.mktemp("stack")
    with django_db_blocker.unblock():
        databases = {"DATABASE_URL": database_url("default"), "STREAMDATA_DATABASE_URL": database_url("streamdata")}
    if not Path(NGINX).exists():
        skip_or_fail("nginx is not installed (Debian: apt-get install nginx)")
    if shutil.which("gunicorn") is None and not (Path(sys.executable).parent / "gunicorn").exists():
        skip_or_fail("gunicorn is not installed (requirements/base.txt)")
    if not (REPO_ROOT / "webapp" / "dist" / ".built").exists():
        skip_or_fail("the front-end bundle is not built (inv build-statics)")
    environment = process_environment(
        **production_environment(DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", **databases),
        DJANGO_SETTINGS_MODULE="server.config.settings.production",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        # Plain HTTP on loopback: no redirect to HTTPS (HSTS is checked as HTTPS below).
        DJANGO_SECURE_SSL_REDIRECT="false",
        SERVER_STAGE="nginx-test",
    )
    running = Stack(tmp_path, environment)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def post(url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def stream_upload(url: str, path: str, size: int) -> tuple[int, dict]:
    """POST ``size`` bytes in chunks with no Content-Length (chunked), as a client streaming a body of unknown size
    does; stop sending once nginx answers or closes, and return its answer."""
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("Content-Type", "application/octet-stream")
        connection.endheaders()
        chunk = b"x" * (1024 * 1024)
        try:
            for _ in range(size // len(chunk) + 1):
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # nginx stopped reading: its answer is waiting
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def test_the_api_answers_through_gunicorn_with_nginx_request_id_and_security_headers(stack, transactional_db):
    user = make_user(email="deploy@example.com")
    # Hashed the way production checks it (the test settings hash with MD5, which production does not accept).
    user.password = PBKDF2PasswordHasher().encode("pass-word-123", "deploy-salt")
    user.save(update_fields=["password"])
    status, headers, body = post(
        stack.url,
        "/api/v1/auth/login/",
        json.dumps({"email": "deploy@example.com", "password": "pass-word-123"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200, body
    assert json.loads(body)["jwt"]
    status, headers, body = http_get(f"{stack.url}/api/v1/server/")
    assert status == 200
    assert json.loads(body)["stage"] == "nginx-test"
    # nginx made the id, Django logged with it and answered it as the correlation id; only one X-Request-ID.
    request_id = headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert headers["x-correlation-id"] == request_id
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert "script-src 'self';" in headers["content-security-policy"]
    assert "strict-transport-security" not in headers, "plain HTTP gets no HSTS"
    [line] = [line for line in stack.request_lines() if line["request_id"] == request_id]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/server/", 200)
    assert line["correlation_id"] == request_id


def test_forwarded_headers_a_client_forges_are_overwritten_or_left_aside(stack):
    status, headers, _ = http_get(
        f"{stack.url}/api/v1/server/",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Request-ID": "forged-id"},
    )
    assert status == 200
    # nginx told Django the real scheme: no HSTS over plain HTTP, though the client claimed HTTPS.
    assert "strict-transport-security" not in headers
    # nginx's own id, not the client's.
    assert headers["x-request-id"] != "forged-id"
    [line] = [line for line in stack.request_lines() if line["request_id"] == headers["x-request-id"]]
    assert line["client"] == "127.0.0.1", "the address nginx saw, not the one the client wrote"
    # Asked as HTTPS by the proxy itself (straight to gunicorn), Django sends HSTS: the header is what decides.
    direct = http_get(f"http://127.0.0.1:{stack.gunicorn_port}/api/v1/server/", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=31536000" in direct[1]["strict-transport-security"]


def test_a_body_over_the_limit_is_a_413_from_nginx_and_never_reaches_gunicorn(stack):
    declared = post(
        stack.url,
        "/api/v1/streamer/report/",
        b"",
        {"Content-Type": "application/octet-stream", "Content-Length": str(MAX_BODY + 1)},
    )
    assert declared[0] == 413
    streamed = stream_upload(stack.url, "/api/v1/streamer/report/", MAX_BODY + 1024 * 1024)
    assert streamed[0] == 413
    refused = {declared[1]["x-request-id"], streamed[1]["x-request-id"]}
    assert not [line for line in stack.request_lines() if line["request_id"] in refused]
    # Within the limit, the body goes through to Django (which asks for credentials).
    within = post(stack.url, "/api/v1/streamer/report/", b"x" * (1024 * 1024), {"Content-Type": "text/plain"})
    assert within[0] == 401
    assert any(line["request_id"] == within[1]["x-request-id"] for line in stack.request_lines())


def test_the_compose_health_check_asks_gunicorn_as_nginx_would(stack):
    # An allowed host, as HTTPS: the production settings answer 200 rather than a redirect or a 400.
    assert web_is_healthy(f"127.0.0.1:{stack.gunicorn_port}", "localhost,127.0.0.1")
    assert not web_is_healthy(f"127.0.0.1:{stack.gunicorn_port}", "not-served.example.com")
    assert not web_is_healthy(f"127.0.0.1:{_free_port()}", "localhost")


def test_static_files_come_from_nginx_compressed_and_even_without_gunicorn(stack):
    # Last in the module: it stops the module's gunicorn.
    files = sorted(stack.static_root.rglob("*.css"))
    assert files, "collectstatic wrote the bundle's stylesheets"
    path = "/static/" + files[0].relative_to(stack.static_root).as_posix()
    status, headers, body = http_get(f"{stack.url}{path}")
    assert status == 200
    assert body == files[0].read_bytes()
    assert headers["server"] == "nginx"
    assert "x-correlation-id" not in headers, "Django never saw it"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])
    assert headers["x-content-type-options"] == "nosniff"
    assert "max-age=604800" in headers["cache-control"]
    gzipped = http_get(f"{stack.url}{path}", headers={"Accept-Encoding": "gzip"})[1]
    assert gzipped.get("content-encoding") == "gzip"

    stack.stop_gunicorn()
    assert http_get(f"{stack.url}{path}")[0] == 200
    assert http_get(f"{stack.url}/api/v1/server/")[0] == 502
