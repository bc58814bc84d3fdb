"""The lease heartbeat: a worker's received messages stay leased to it while their work runs.

A transport leases each message it hands out for ``lease_seconds`` (``WORKER_LEASE_SECONDS``, 30). The worker holds
a receive's messages in a :class:`LeaseKeeper`, whose thread renews them every third of the lease until each is
settled (acknowledged, retried, dead-lettered, released) or its hold runs out. So a long action keeps its messages,
and a worker that dies (SIGKILL, a lost machine) stops renewing: its messages come back to the other workers within
one lease, not after the longest action's timeout. The hold (``policy.hold_seconds``: the actions' timeouts and a
margin) bounds a worker that is alive but stuck.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from django.db import connections

from server.apps.worker.transports import Message, Transport

logger = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews the leases of the messages a worker holds, from a background thread, while the worker runs them."""

    def __init__(self, transport: Transport, *, worker_id: str = "") -> None:
        self.transport = transport
        self.worker_id = worker_id
        self.interval = max(transport.lease_seconds / 3, 0.1)
        self._held: dict[str, tuple[Message, float]] = {}  # receipt → (message, monotonic end of the hold)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, messages: Iterable[Message], *, seconds: float) -> None:
        """Keep renewing ``messages`` for at most ``seconds`` from now."""
        until = time.monotonic() + seconds
        with self._lock:
            for message in messages:
                self._held[message.receipt] = (message, until)

    def drop(self, message: Message) -> None:
        """Stop renewing ``message`` (it was settled)."""
        with self._lock:
            self._held.pop(message.receipt, None)

    def renew_due(self) -> int:
        """Renew every held message whose hold has not run out (forget the others); returns how many."""
        now = time.monotonic()
        with self._lock:
            for receipt in [receipt for receipt, (_, until) in self._held.items() if until <= now]:
                message, _ = self._held.pop(receipt)
                logger.warning(
                    "worker %s: held message %s (%s) past its actions' time limits; its lease is left to run out",
                    self.worker_id,
                    message.id,
                    message.action,
                )
            messages = [message for message, _ in self._held.values()]
        if messages:
            self.transport.renew(messages, seconds=self.transport.lease_seconds)
        return len(messages)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="worker-lease", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=self.interval + 10)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.renew_due()
                except Exception:
                    logger.exception("worker %s: renewing the leases failed", self.worker_id)
                    connections.close_all()  # this thread's own connections; the next beat reconnects
        finally:
            connections.close_all()
