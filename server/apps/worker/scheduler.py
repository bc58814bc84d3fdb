"""Periodic jobs: an action enqueued every ``interval``, at most once per interval however many workers tick.

Declare them next to the action, in ``<app>/jobs.py``::

    register_periodic(DeviceHealthCheck, every=timedelta(minutes=30))

Every worker calls :func:`scheduler_tick` now and then (``WORKER_SCHEDULER_TICK_SECONDS``). For each job the tick
runs one conditional ``UPDATE`` of the job's ``ScheduledJob`` row, comparing with the database clock: concurrent
ticks queue on the row lock and only the first finds the interval elapsed. The action is enqueued in the same
transaction, so with the PostgreSQL transport the message and the timestamp commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now

from server.apps.worker.actions import Action, ActionRegistryError
from server.apps.worker.models import ScheduledJob
from server.apps.worker.queue import enqueue

logger = logging.getLogger(__name__)

Arguments = dict[str, Any] | Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    action: type[Action]
    interval: timedelta
    arguments: Arguments = field(default_factory=dict)  # or a callable returning them at enqueue time

    def make_arguments(self) -> dict[str, Any]:
        return self.arguments() if callable(self.arguments) else dict(self.arguments)


periodic_jobs: dict[str, PeriodicJob] = {}


def register_periodic(
    action: type[Action], *, every: timedelta, arguments: Arguments | None = None, name: str | None = None
) -> PeriodicJob:
    """Enqueue ``action`` every ``every``; ``name`` (default: the action's name) keys its clock."""
    if every <= timedelta(0):
        raise ValueError("a periodic job needs a positive interval")
    job = PeriodicJob(
        name=name or action.name or action.__name__, action=action, interval=every, arguments=arguments or {}
    )
    existing = periodic_jobs.get(job.name)
    if existing is not None and existing.action is not action:
        raise ActionRegistryError(f"periodic job {job.name!r} is already declared for {existing.action.name}")
    periodic_jobs[job.name] = job
    return job


def scheduler_tick() -> list[str]:
    """Enqueue every periodic job whose interval has elapsed; returns the names enqueued by this call."""
    jobs = list(periodic_jobs.values())
    if not jobs:
        return []
    ScheduledJob.objects.bulk_create([ScheduledJob(name=job.name) for job in jobs], ignore_conflicts=True)
    enqueued = []
    for job in jobs:
        with transaction.atomic():
            due = ScheduledJob.objects.filter(name=job.name).filter(
                Q(last_enqueued_at__isnull=True) | Q(last_enqueued_at__lte=Now() - job.interval)
            )
            if due.update(last_enqueued_at=Now()):
                enqueue(job.action.name, job.make_arguments())
                enqueued.append(job.name)
    if enqueued:
        logger.info("scheduler: enqueued %s", ", ".join(enqueued))
    return enqueued
