"""``manage.py runserver``: Django's development server (static files included), whose threads close their database
connections when their client's connection ends, and which reads a request's body in bounded pieces.

The development server serves each client connection in a thread of its own. The thread keeps its database
connections between its client's requests (``CONN_MAX_AGE``), and Django's development server leaves them open when
the thread ends, until the garbage collector frees them: a burst of requests on new connections (a script's calls
without keep-alive) ran the embedded PostgreSQL out of its 100 connections, and the worker's next report waited
minutes for its retry. Django's live test server closes a thread's connections as its client's connection ends; this
server does the same.

After each response Django's server reads what is left of the body in one call, as many bytes as the request's
``Content-Length`` claims. A client claiming more than a bytes object can hold (``Content-Length:
99999999999999999999``) got its 413, and then left an ``OverflowError`` traceback in the log; a claim of a few
exabytes asked for that much memory. This server's connections read at most ``READ_CHUNK_BYTES`` at a time, however
much a reader asks for.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from django.contrib.staticfiles.management.commands.runserver import Command as StaticFilesRunserverCommand
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.db import connections

READ_CHUNK_BYTES = 1024 * 1024


class ChunkedReader:
    """A connection's input that reads a large request in pieces: ``read(n)`` still returns ``n`` bytes unless the
    input ends first, but never asks the socket's buffer for more than ``READ_CHUNK_BYTES`` at once."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def read(self, size: int | None = -1) -> bytes:
        left = None if size is None or size < 0 else size  # None: to the end of the input, still in pieces
        pieces = []
        while left is None or left > 0:
            piece = self._stream.read(READ_CHUNK_BYTES if left is None else min(left, READ_CHUNK_BYTES))
            if not piece:
                break
            pieces.append(piece)
            if left is not None:
                left -= len(piece)
        return b"".join(pieces)

    def __getattr__(self, name: str) -> Any:  # readline, close… as the socket's buffer has them
        return getattr(self._stream, name)


class BoundedReadRequestHandler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        self.rfile = ChunkedReader(self.rfile)  # type: ignore[assignment]


class DevelopmentWSGIServer(WSGIServer):
    """Serves each connection with :class:`BoundedReadRequestHandler`, and closes the serving thread's database
    connections once its client's connection is done."""

    def __init__(self, server_address, handler_class=None, *args, **kwargs) -> None:
        # runserver names Django's handler; this server's connections get the one built on it.
        super().__init__(server_address, BoundedReadRequestHandler, *args, **kwargs)

    def close_request(self, request) -> None:
        connections.close_all()
        super().close_request(request)


class Command(StaticFilesRunserverCommand):
    server_cls = DevelopmentWSGIServer
