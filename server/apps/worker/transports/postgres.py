"""The default transport: a table in the ``default`` database.

Receivers claim rows with ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent workers never wait for each other nor
take the same message. Claiming leases the row: ``available_at`` moves to the end of the lease and a fresh
``receipt`` proves the delivery; the worker's heartbeat renews the lease while the work runs, and a worker that dies
leaves the row to reappear when its lease runs out. All times come from the database clock.

No waiting: sending a message that is due now also sends ``NOTIFY`` on :data:`CHANNEL` (delivered when the sender's
transaction commits, so a message written inside the caller's transaction wakes the workers exactly when it
becomes visible). An idle receiver runs ``LISTEN`` on its own connection and sleeps until a notification for its
queue, the next delayed message or lease comes due, or ``poll_interval`` passes (the fallback, should a
notification be lost with a broken connection).
"""

from __future__ import annotations

import json
import logging
import select
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg2
import psycopg2.extensions
from django.conf import settings
from django.db import connections

from server.apps.worker.identity import worker_died_here, worker_host_prefix
from server.apps.worker.models import CORRELATION_ID_MAX, QueueMessage
from server.apps.worker.transports.base import Message, QueueDepth, Transport

logger = logging.getLogger(__name__)

ALIAS = "default"
TABLE = QueueMessage._meta.db_table
CHANNEL = "iotile_worker_queue"  # the NOTIFY channel; the payload is the logical queue's name
# An idle receiver wakes at least this often to see whether its worker is stopping.
STOP_CHECK_SECONDS = 0.5

SEND_SQL = f"""
WITH message AS (
    INSERT INTO {TABLE} (queue, action, arguments, available_at, attempts, claimed_by, correlation_id)
    VALUES (
        %(queue)s, %(action)s, %(arguments)s::jsonb, statement_timestamp() + make_interval(secs => %(delay)s), 0, '',
        %(correlation_id)s
    )
    RETURNING id
)
SELECT id, CASE WHEN %(notify)s THEN pg_notify(%(channel)s, %(queue)s) END FROM message
"""

# Seconds until the next message of the queue comes due (a delay, a backoff, a lease that may run out); NULL for none.
NEXT_DUE_SQL = f"""
SELECT extract(epoch FROM min(available_at) - statement_timestamp()) FROM {TABLE} WHERE queue = %s
"""

# The claimed ids are a MATERIALIZED CTE, evaluated once: as a sub-select in FROM the planner may run it again (a
# rescan), and with SKIP LOCKED each run can pick other rows, so more than ``limit`` messages got claimed.
CLAIM_SQL = f"""
WITH claimed AS MATERIALIZED (
    SELECT id FROM {TABLE}
    WHERE queue = %(queue)s AND available_at <= statement_timestamp()
    ORDER BY available_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {TABLE} AS message
SET available_at = statement_timestamp() + make_interval(secs => %(lease)s),
    attempts = message.attempts + 1,
    receipt = gen_random_uuid(),
    claimed_at = statement_timestamp(),
    claimed_by = %(worker_id)s
FROM claimed
WHERE message.id = claimed.id
RETURNING message.id, message.action, message.arguments, message.attempts, message.receipt, message.correlation_id
"""

# The workers of one host (their ids' common beginning) that hold leases now.
LEASE_HOLDERS_SQL = f"""
SELECT DISTINCT claimed_by FROM {TABLE}
WHERE receipt IS NOT NULL AND available_at > statement_timestamp() AND starts_with(claimed_by, %s)
"""

DEPTH_SQL = f"""
SELECT
    count(*) FILTER (WHERE available_at <= statement_timestamp()),
    count(*) FILTER (WHERE available_at > statement_timestamp() AND receipt IS NOT NULL),
    count(*) FILTER (WHERE available_at > statement_timestamp() AND receipt IS NULL)
FROM {TABLE} WHERE queue = %s
"""


def _seconds(value: float) -> float:
    return max(float(value), 0.0)


class PostgresTransport(Transport):
    name = "postgres"
    database_alias = ALIAS

    def __init__(self, *, lease_seconds: float | None = None, poll_interval: float | None = None) -> None:
        self.lease_seconds = settings.WORKER_LEASE_SECONDS if lease_seconds is None else lease_seconds
        self.poll_interval = settings.WORKER_POLL_INTERVAL if poll_interval is None else poll_interval
        self._listener: Any = None  # the receiver's own LISTEN connection, opened on its first wait

    def send(
        self,
        action: str,
        arguments: dict[str, Any],
        *,
        delay: float = 0,
        queue: str = "default",
        correlation_id: str = "",
    ) -> str:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(
                SEND_SQL,
                {
                    "queue": queue,
                    "action": action,
                    "arguments": json.dumps(arguments),
                    "delay": _seconds(delay),
                    "notify": not delay,
                    "channel": CHANNEL,
                    "correlation_id": correlation_id[:CORRELATION_ID_MAX],
                },
            )
            (pk, _) = cursor.fetchone()
        return str(pk)

    def claim(self, *, queue: str, max_messages: int, worker_id: str) -> list[Message]:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(
                CLAIM_SQL,
                {
                    "lease": self.lease_seconds,
                    "worker_id": worker_id[:100],
                    "queue": queue,
                    "limit": max_messages,
                },
            )
            rows = cursor.fetchall()
        messages = []
        for pk, action, arguments, attempts, receipt, correlation in sorted(rows):
            if isinstance(arguments, str):  # Django leaves jsonb undecoded on raw cursors
                arguments = json.loads(arguments)
            messages.append(
                Message(
                    id=str(pk),
                    action=action,
                    arguments=arguments,
                    attempt=attempts,
                    queue=queue,
                    receipt=str(receipt),
                    correlation_id=correlation,
                )
            )
        return messages

    def receive(
        self,
        *,
        queue: str = "default",
        max_messages: int = 1,
        wait: float = 0,
        worker_id: str = "",
        should_stop: Callable[[], bool] | None = None,
    ) -> list[Message]:
        deadline = time.monotonic() + _seconds(wait)
        if wait > 0:
            self._listen()  # before the claim: a message sent after it finds nothing wakes this receiver
        while True:
            messages = self.claim(queue=queue, max_messages=max_messages, worker_id=worker_id)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0 or (should_stop and should_stop()):
                return messages
            due = self._next_due(queue)
            self._sleep(queue, min(remaining, self.poll_interval, due), should_stop)

    def _next_due(self, queue: str) -> float:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(NEXT_DUE_SQL, [queue])
            (seconds,) = cursor.fetchone()
        return float("inf") if seconds is None else max(float(seconds), 0.0)

    def _listen(self) -> None:
        if self._listener is not None and not self._listener.closed:
            return
        try:
            listener = psycopg2.connect(**connections[ALIAS].get_connection_params())
            listener.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
            with listener.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
        except psycopg2.Error as exc:
            logger.warning("worker queue: cannot LISTEN (%s); polling every %g s", exc, self.poll_interval)
            self._listener = None
            return
        self._listener = listener

    def _sleep(self, queue: str, seconds: float, should_stop: Callable[[], bool] | None) -> None:
        """Sleep up to ``seconds``; wake early on a notification for ``queue`` or when ``should_stop`` says so."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0 and not (should_stop and should_stop()):
            listener = self._listener
            if listener is None:
                time.sleep(min(left, STOP_CHECK_SECONDS))
                continue
            try:
                ready, _, _ = select.select([listener], [], [], min(left, STOP_CHECK_SECONDS))
                if ready:
                    listener.poll()
                notified = any(notify.payload == queue for notify in listener.notifies)
                listener.notifies.clear()
            except (OSError, psycopg2.Error) as exc:
                logger.warning("worker queue: the LISTEN connection broke (%s); polling", exc)
                self.close()
                continue
            if notified:
                return

    def close(self) -> None:
        """Close the LISTEN connection (a later wait opens another)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.close()
            except psycopg2.Error:
                pass

    def _update(self, sql: str, params: list[Any]) -> int:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def ack(self, message: Message) -> bool:
        return self._update(f"DELETE FROM {TABLE} WHERE id = %s AND receipt = %s", [message.id, message.receipt]) == 1

    def retry(self, message: Message, *, delay: float = 0) -> None:
        self._update(
            f"UPDATE {TABLE} SET available_at = statement_timestamp() + make_interval(secs => %s), receipt = NULL, "
            "claimed_at = NULL, claimed_by = '' WHERE id = %s AND receipt = %s",
            [_seconds(delay), message.id, message.receipt],
        )

    def release(self, message: Message) -> None:
        self._update(
            f"UPDATE {TABLE} SET available_at = statement_timestamp(), attempts = greatest(attempts - 1, 0), "
            "receipt = NULL, claimed_at = NULL, claimed_by = '' WHERE id = %s AND receipt = %s",
            [message.id, message.receipt],
        )

    def release_abandoned(self, *, worker_id: str) -> int:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(LEASE_HOLDERS_SQL, [worker_host_prefix()])
            dead = [holder for (holder,) in cursor.fetchall() if holder != worker_id and worker_died_here(holder)]
        if not dead:
            return 0
        return self._update(
            f"UPDATE {TABLE} SET available_at = statement_timestamp(), receipt = NULL, claimed_at = NULL, "
            "claimed_by = '' WHERE receipt IS NOT NULL AND claimed_by = ANY(%s)",
            [dead],
        )

    def renew(self, messages: Sequence[Message], *, seconds: float) -> None:
        if not messages:
            return
        # SKIP LOCKED: a row being acknowledged or retried right now needs no renewal.
        self._update(
            f"UPDATE {TABLE} SET available_at = statement_timestamp() + make_interval(secs => %s) "
            f"WHERE id IN (SELECT id FROM {TABLE} WHERE id = ANY(%s) AND receipt = ANY(%s::uuid[]) "
            "FOR UPDATE SKIP LOCKED)",
            [_seconds(seconds), [int(m.id) for m in messages], [m.receipt for m in messages]],
        )

    def depth(self, *, queue: str = "default") -> QueueDepth:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(DEPTH_SQL, [queue])
            ready, in_flight, delayed = cursor.fetchone()
        return QueueDepth(queue=queue, ready=ready, in_flight=in_flight, delayed=delayed)
