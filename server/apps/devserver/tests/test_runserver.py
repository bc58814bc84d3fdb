"""The development server closes a thread's database connections when its client's connection ends; Django's own
left them to the garbage collector (counted in pg_stat_activity, the collector off)."""

from __future__ import annotations

import gc
import http.client
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
from server.apps.devserver.management.commands.runserver import Command, ConnectionClosingWSGIServer
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
    assert Command.server_cls is ConnectionClosingWSGIServer


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("server_cls", "left_open"), [(WSGIServer, True), (ConnectionClosingWSGIServer, False)])
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
