"""The forwarding app's queue actions: send a destination's outbox, and the sweep that gives a run to any outbox
left with due rows (docs/forwarding.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.apps.forwarding.services import destination_send, destinations_sweep
from server.apps.worker.actions import Action, RetryPolicy, register_action
from server.apps.worker.scheduler import register_periodic


@register_action
class DeliverDestination(Action):
    """Send what is due in one destination's outbox, in order. A destination that refuses a message is handled by
    the outbox's own backoff and dead letters (per row); this message is retried only when the platform itself
    fails (its database)."""

    required_arguments = ("destination_id",)
    timeout = 600
    retry = RetryPolicy(max_attempts=5, backoff=10, factor=2, max_backoff=600)

    def execute(self, arguments: dict[str, Any]) -> None:
        destination_send(destination_id=int(arguments["destination_id"]))


@register_action
class ForwardingSweep(Action):
    """A run for every outbox with due rows and none under way: the safety net for a run a crashed worker lost."""

    timeout = 60

    def execute(self, arguments: dict[str, Any]) -> None:
        destinations_sweep()


register_periodic(ForwardingSweep, every=timedelta(minutes=1))
