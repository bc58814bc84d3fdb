"""The compose stack's health checks for the platform's own services (docker-compose.yml)::

    python -m server.config.healthcheck web      # gunicorn answers GET /api/v1/server/ with 200
    python -m server.config.healthcheck worker   # the worker's queue can be reached
    python -m server.config.healthcheck mqtt     # the broker accepts the platform's login (MQTT_URL)

Exit status 0 is healthy. The web check asks as nginx would: with a host the settings allow and as HTTPS, so the
HTTPS redirect does not answer in the application's place.
"""

from __future__ import annotations

import os
import sys
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit

SERVER_PATH = "/api/v1/server/"


def allowed_host(allowed_hosts: str) -> str:
    """A host name ``DJANGO_ALLOWED_HOSTS`` accepts: its first entry, made concrete (``.example.com`` → ``example.com``,
    ``*`` → ``localhost``)."""
    first = next((host.strip() for host in allowed_hosts.split(",") if host.strip()), "localhost")
    return "localhost" if first == "*" else first.lstrip(".")


def web_is_healthy(address: str, allowed_hosts: str) -> bool:
    request = urllib.request.Request(
        f"http://{address}{SERVER_PATH}",
        headers={"Host": allowed_host(allowed_hosts), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def worker_is_healthy() -> bool:
    """The worker's transport answers a depth query: the queue (the database, or SQS) is reachable from here."""
    import django

    django.setup()
    from server.apps.worker.transports import get_transport

    try:
        get_transport().depth()
    except Exception as error:
        print(f"the worker's queue cannot be reached: {error}", file=sys.stderr)
        return False
    return True


def mqtt_is_healthy(url: str, timeout: float = 5.0) -> bool:
    """The broker in ``url`` (``mqtt://user:password@host:port``) accepts its login: what the MQTT bridge needs."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parts = urlsplit(url)
    accepted = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"healthcheck-{os.getpid()}")
    if parts.username:
        client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if not reason_code.is_failure:
            accepted.set()

    client.on_connect = on_connect
    try:
        client.connect(parts.hostname or "localhost", parts.port or 1883, keepalive=10)
    except OSError:
        return False
    client.loop_start()
    try:
        return accepted.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else ""
    if what == "web":
        address = os.environ.get("HEALTHCHECK_ADDRESS", "127.0.0.1:8000")
        return 0 if web_is_healthy(address, os.environ.get("DJANGO_ALLOWED_HOSTS", "")) else 1
    if what == "worker":
        return 0 if worker_is_healthy() else 1
    if what == "mqtt":
        return 0 if mqtt_is_healthy(os.environ.get("MQTT_URL", "")) else 1
    print("usage: python -m server.config.healthcheck web|worker|mqtt", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
