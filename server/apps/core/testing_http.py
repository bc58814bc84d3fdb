"""A real webhook receiver for tests: an HTTP server on a loopback port that records what it is sent, and can be
taken down (nothing listens; the port refuses connections) and brought back on the same port. Forwarding's
deliveries and the outbound guard's tests (core/outbound.py) post to it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    port: int
    received: list[Received] = field(default_factory=list)
    # The status the receiver answers with (a 503 plays a destination that is up but failing).
    status: int = 204
    # A loopback address: 127.0.0.1 is the one the test settings let the outbound guard reach.
    host: str = "127.0.0.1"
    # With a 3xx status, where the receiver redirects to.
    location: str = ""
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def correlation_ids(self) -> list[str]:
        return [each.headers["Idempotency-Key"] for each in self.received]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def running_receiver(host: str = "127.0.0.1") -> Iterator[WebhookReceiver]:
    """A receiver that is up on ``host`` (a loopback address) until the block ends."""
    receiver = WebhookReceiver(port=free_port(host), host=host)
    receiver.up()
    try:
        yield receiver
    finally:
        receiver.down()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A receiver that is down until the test calls ``up()``."""
    receiver = WebhookReceiver(port=free_port())
    yield receiver
    receiver.down()
