"""``manage.py runserver``: Django's development server (static files included), whose threads close their database
connections when their client's connection ends.

The development server serves each client connection in a thread of its own. The thread keeps its database
connections between its client's requests (``CONN_MAX_AGE``), and Django's development server leaves them open when
the thread ends, until the garbage collector frees them: a burst of requests on new connections (a script's calls
without keep-alive) ran the embedded PostgreSQL out of its 100 connections, and the worker's next report waited
minutes for its retry. Django's live test server closes a thread's connections as its client's connection ends; this
server does the same.
"""

from __future__ import annotations

from django.contrib.staticfiles.management.commands.runserver import Command as StaticFilesRunserverCommand
from django.core.servers.basehttp import WSGIServer
from django.db import connections


class ConnectionClosingWSGIServer(WSGIServer):
    """Closes the serving thread's database connections once its client's connection is done."""

    def close_request(self, request) -> None:
        connections.close_all()
        super().close_request(request)


class Command(StaticFilesRunserverCommand):
    server_cls = ConnectionClosingWSGIServer
