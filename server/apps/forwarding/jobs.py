"""The forwarding app's queue actions: send a destination's outbox, and the sweep that gives a run to any outbox
left with due rows (docs/forwarding.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from server.apps.forwarding.services import deliveries_delete_delivered, destination_send, destinations_sweep
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


@register_action
class ForwardingCleanup(Action):
    """Keeps delivered outbox rows for ``FORWARDING_DELIVERED_RETENTION_DAYS``."""

    optional_arguments = ("days",)
    timeout = 600

    def execute(self, arguments: dict[str, Any]) -> None:
        deliveries_delete_delivered(days=int(arguments.get("days") or settings.FORWARDING_DELIVERED_RETENTION_DAYS))


register_periodic(ForwardingSweep, every=timedelta(minutes=1))
register_periodic(ForwardingCleanup, every=timedelta(days=1))
