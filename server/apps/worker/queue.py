"""Enqueueing work by action name, the one way a service hands work to the worker.

A service names the action it wants run; it never imports the module that declares it, so no app's services depend
on its own (or another app's) ``jobs.py``::

    from server.apps.worker.queue import enqueue_on_commit

    enqueue_on_commit("ProcessReport", {"report_id": str(report.id)})

The arguments are checked against the action's declaration at once, so a mistake fails in the caller and not in the
worker later.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from server.apps.core.logs import correlation_id
from server.apps.worker.actions import ActionRegistryError, get_action
from server.apps.worker.transports import get_transport

logger = logging.getLogger(__name__)


def _checked(name: str, arguments: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    action = get_action(name)
    if action is None:
        raise ActionRegistryError(f"no action is registered as {name!r}")
    return action.queue, action.check_arguments(arguments)


def enqueue(name: str, arguments: dict[str, Any] | None = None, *, delay: float = 0) -> str:
    """Enqueue the action registered as ``name`` now and return the message id. Inside a transaction use
    :func:`enqueue_on_commit`, so the worker never sees a message about rows that were rolled back."""
    queue, arguments = _checked(name, arguments)
    message_id = get_transport().send(name, arguments, delay=delay, queue=queue, correlation_id=correlation_id.get())
    # Written with the caller's request and correlation ids; the message carries the correlation id, and the
    # worker's lines about it carry that and "message-<id>" as their request id, so this line joins the two.
    logger.info("enqueued %s as message %s", name, message_id, extra={"message_id": message_id})
    return message_id


def enqueue_on_commit(
    name: str, arguments: dict[str, Any] | None = None, *, delay: float = 0, using: str = "default"
) -> None:
    """Check the arguments now; have the message delivered once the transaction on ``using`` commits (at once
    outside one). When the queue lives in that database (the PostgreSQL transport), the message is written now, in
    the caller's transaction: it commits with the caller's rows, or not at all, and its NOTIFY wakes a worker at
    the commit. Otherwise (SQS) it is sent after the commit; a send that fails then is logged, not raised: the
    caller's rows are committed and its answer must say so. The message is lost as if the process had died there
    (docs/worker.md; ``RequeueStalledReports`` recovers reports)."""
    queue, arguments = _checked(name, arguments)
    transport, correlation = get_transport(), correlation_id.get()
    if transport.database_alias == using:
        transport.send(name, arguments, delay=delay, queue=queue, correlation_id=correlation)
    else:

        def send_after_commit() -> None:
            try:
                transport.send(name, arguments, delay=delay, queue=queue, correlation_id=correlation)
            except Exception:
                logger.exception("could not queue %s after the commit: the message is lost", name)

        transaction.on_commit(send_after_commit, using=using)
