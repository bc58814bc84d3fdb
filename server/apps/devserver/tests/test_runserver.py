"""The development server closes a thread's database connections when its client's connection ends; Django's own
left them to the garbage collector (counted in pg_stat_activity, the collector off). It reads a body in bounded
pieces: a Content-Length past what a bytes object holds is a 413 and nothing in the log."""

from __future__ import annotations

import gc
import http.client
import io
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.db import connection

from server.apps.authentication.authentication import jwt_encode
from server.apps.core.testing import make_user
from server.apps.devserver.management.commands import runserver
from server.apps.devserver.management.commands.runserver import ChunkedReader, Command, DevelopmentWSGIServer
from server.config.wsgi import application


def other_connections() -> int:
    """This test database's connections other than the test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@contextmanager
def serving(server_cls: type[WSGIServer]) -> Iterator[int]:
    """``server_cls`` threaded as runserver threads it, serving the project on a free port; yields the port."""
    threaded = type("WSGIServer", (socketserver.ThreadingMixIn, server_cls), {"daemon_threads": True})
    server = threaded(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(application)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    yield
    gc.enable()
    gc.collect()


def test_runserver_is_this_command():
    assert Command.server_cls is DevelopmentWSGIServer


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("server_cls", "left_open"), [(WSGIServer, True), (DevelopmentWSGIServer, False)])
def test_each_client_connections_database_connection_is_closed_when_it_ends(no_collector, server_cls, left_open):
    token = jwt_encode(make_user())
    before = other_connections()
    with serving(server_cls) as port:
        for _ in range(5):
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            client.request("GET", "/api/v1/account/", headers={"Authorization": f"jwt {token}"})
            response = client.getresponse()
            assert response.status == 200
            response.read()
            client.close()
        deadline = time.monotonic() + 5
        while other_connections() != before and time.monotonic() < deadline and not left_open:
            time.sleep(0.05)
        after = other_connections()
    if left_open:
        assert after >= before + 5
        # Only the garbage collector closes them (and must, before the test database is dropped).
        gc.collect()
        deadline = time.monotonic() + 5
        while other_connections() != before and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        assert after == before


def test_a_read_returns_what_it_asks_for_in_bounded_pieces(monkeypatch):
    monkeypatch.setattr(runserver, "READ_CHUNK_BYTES", 4)
    asked = []

    class Recorded(io.BytesIO):
        def read(self, size=-1):
            asked.append(size)
            return super().read(size)

    reader = ChunkedReader(Recorded(b"first line\n" + bytes(range(30))))
    assert reader.readline() == b"first line\n"
    assert reader.read(10) == bytes(range(10))
    assert reader.read(10**20) == bytes(range(10, 30))
    assert reader.read() == b""
    assert reader.read(5) == b""
    assert max(asked) == 4
    reader.close()
    assert reader.closed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("server_cls", "traceback"), [(WSGIServer, True), (DevelopmentWSGIServer, False)])
def test_a_body_longer_than_memory_can_hold_is_a_413_and_no_traceback(capsys, server_cls, traceback):
    with serving(server_cls) as port, socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(
            b"POST /api/v1/server/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 99999999999999999999\r\n\r\n{}"
        )
        client.shutdown(socket.SHUT_WR)
        answer = b""
        while piece := client.recv(65536):
            answer += piece
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"is larger than the" in answer
    assert ("OverflowError" in capsys.readouterr().err) is traceback


@pytest.mark.django_db(transaction=True)
def test_a_body_of_megabytes_is_read_whole(monkeypatch):
    monkeypatch.setattr(runserver, "READ_CHUNK_BYTES", 64 * 1024)
    token = jwt_encode(make_user())
    body = (
        b'[{"stream": "s--0000-0001--0000-0000-0000-0001--5001", "timestamp": "not a time", "value": 1}'
        + b" " * (2 * 1024 * 1024)
        + b"]"
    )
    with serving(DevelopmentWSGIServer) as port:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        client.request(
            "POST",
            "/api/v1/data/",
            body=body,
            headers={"Authorization": f"jwt {token}", "Content-Type": "application/json"},
        )
        response = client.getresponse()
        answer = response.read()
        client.close()
    # Parsed whole (the JSON ends with the last byte): the reading's own error, not a parse error.
    assert response.status == 400
    assert b"timestamp" in answer
