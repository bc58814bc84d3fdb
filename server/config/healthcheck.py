"""The compose stack's health checks for the platform's own services (docker-compose.yml)::

    python -m server.config.healthcheck web      # gunicorn answers GET /api/v1/server/ with 200
    python -m server.config.healthcheck worker   # the worker's queue can be reached

Exit status 0 is healthy. The web check asks as nginx would: with a host the settings allow and as HTTPS, so the
HTTPS redirect does not answer in the application's place.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

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


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else ""
    if what == "web":
        address = os.environ.get("HEALTHCHECK_ADDRESS", "127.0.0.1:8000")
        return 0 if web_is_healthy(address, os.environ.get("DJANGO_ALLOWED_HOSTS", "")) else 1
    if what == "worker":
        return 0 if worker_is_healthy() else 1
    print("usage: python -m server.config.healthcheck web|worker", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
