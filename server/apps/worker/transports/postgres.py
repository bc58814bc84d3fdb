"""The default transport: a table in the ``default`` database.

Receivers claim rows with ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent workers never wait for each other nor
take the same message. Claiming leases the row: ``available_at`` moves to the end of the lease and a fresh
``receipt`` proves the delivery; the worker's heartbeat renews the lease while the work runs, and a worker that dies
leaves the row to reappear when its lease runs out. All times come from the database clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models.functions import Now

from server.apps.worker.models import QueueMessage
from server.apps.worker.transports.base import Message, QueueDepth, Transport

ALIAS = "default"
TABLE = QueueMessage._meta.db_table

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
RETURNING message.id, message.action, message.arguments, message.attempts, message.receipt
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

    def __init__(self, *, lease_seconds: float | None = None, poll_interval: float | None = None) -> None:
        self.lease_seconds = settings.WORKER_LEASE_SECONDS if lease_seconds is None else lease_seconds
        self.poll_interval = settings.WORKER_POLL_INTERVAL if poll_interval is None else poll_interval

    def send(self, action: str, arguments: dict[str, Any], *, delay: float = 0, queue: str = "default") -> str:
        available_at = Now() + timedelta(seconds=_seconds(delay)) if delay else Now()
        message = QueueMessage.objects.using(ALIAS).create(
            queue=queue, action=action, arguments=arguments, available_at=available_at
        )
        return str(message.pk)

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
        for pk, action, arguments, attempts, receipt in sorted(rows):
            if isinstance(arguments, str):  # Django leaves jsonb undecoded on raw cursors
                arguments = json.loads(arguments)
            messages.append(
                Message(
                    id=str(pk), action=action, arguments=arguments, attempt=attempts, queue=queue, receipt=str(receipt)
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
        while True:
            messages = self.claim(queue=queue, max_messages=max_messages, worker_id=worker_id)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0 or (should_stop and should_stop()):
                return messages
            time.sleep(min(self.poll_interval, remaining))

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
