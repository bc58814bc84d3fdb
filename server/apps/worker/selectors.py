"""Reads for the staff pages: queue depth, the run log and the dead letters. Non-staff users see nothing."""

from __future__ import annotations

from django.db.models import QuerySet

from server.apps.core.errors import PermissionDeniedError
from server.apps.worker.models import DeadLetter, WorkerRun
from server.apps.worker.transports import QueueDepth, get_transport


def queue_depth(*, user, queue: str = "default") -> QueueDepth:
    if not (user is not None and user.is_authenticated and user.is_active and user.is_staff):
        raise PermissionDeniedError("only staff may see the queue")
    return get_transport().depth(queue=queue)


def recent_runs(
    *, user, action: str | None = None, status: str | None = None, limit: int | None = 100
) -> QuerySet[WorkerRun]:
    """The run log, newest first: the latest ``limit`` runs, or all of them (for a paged list) with ``None``."""
    runs = WorkerRun.objects.restrict(user, "view")
    if action:
        runs = runs.filter(action=action)
    if status:
        runs = runs.filter(status=status)
    return runs.order_by("-started_at", "-id")[:limit]


def dead_letters(*, user, action: str | None = None, include_requeued: bool = False) -> QuerySet[DeadLetter]:
    letters = DeadLetter.objects.restrict(user, "view")
    if action:
        letters = letters.filter(action=action)
    if not include_requeued:
        letters = letters.filter(requeued_at__isnull=True)
    return letters.order_by("-created_at", "-id")
