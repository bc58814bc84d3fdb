"""The PostgreSQL queue, the run log, the dead letters and the scheduler's clock. All staff-only."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from server.apps.core.scoping import STAFF_ONLY, ScopedQuerySet

STAFF_ONLY_PERMISSIONS = dict.fromkeys(("view", "add", "change", "delete"), STAFF_ONLY)
# As long as core.logs lets an id be.
CORRELATION_ID_MAX = 128


class QueueMessage(models.Model):
    """A message of the PostgreSQL transport. A worker claims (leases) it by moving ``available_at`` to the end of
    the lease and setting a fresh ``receipt``; its heartbeat renews the lease while the work runs; an
    acknowledgement deletes it. A message whose worker died becomes available again when ``available_at`` passes."""

    id = models.BigAutoField(primary_key=True)
    queue = models.CharField(max_length=64, default="default")
    action = models.CharField(max_length=100)
    arguments = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_default=Now())
    available_at = models.DateTimeField(db_default=Now())
    attempts = models.PositiveIntegerField(default=0)
    receipt = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    # The correlation id of the work that enqueued it (Message.correlation_id).
    correlation_id = models.CharField(max_length=CORRELATION_ID_MAX, blank=True, db_default="")

    class Meta:
        indexes = [models.Index(fields=["queue", "available_at"], name="worker_queue_available")]

    def __str__(self) -> str:
        return f"{self.queue}#{self.pk} {self.action}"


class WorkerRunStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    RETRY = "retry", "Failed, will be retried"
    FAILED = "failed", "Failed permanently (dead letter)"
    DEAD = "dead", "Retries exhausted or undeliverable (dead letter)"


class WorkerRun(models.Model):
    """One execution (or refusal) of one message."""

    scope_org_path = None
    scope_permissions = STAFF_ONLY_PERMISSIONS

    id = models.BigAutoField(primary_key=True)
    action = models.CharField(max_length=100)
    arguments = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=WorkerRunStatus.choices)
    attempt = models.PositiveIntegerField(default=1)
    queue = models.CharField(max_length=64, default="default")
    message_id = models.CharField(max_length=128, blank=True)
    started_at = models.DateTimeField()
    duration = models.FloatField(help_text="seconds")
    error = models.TextField(blank=True)
    worker_id = models.CharField(max_length=100, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["-started_at"], name="worker_run_started"),
            models.Index(fields=["action", "-started_at"], name="worker_run_action_started"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.status} ({self.duration:.3f} s)"


class DeadLetter(models.Model):
    """A message the worker gave up on, kept with the error so staff can fix the cause and requeue it."""

    scope_org_path = None
    scope_permissions = STAFF_ONLY_PERMISSIONS

    id = models.BigAutoField(primary_key=True)
    action = models.CharField(max_length=100)
    arguments = models.JSONField(default=dict)
    queue = models.CharField(max_length=64, default="default")
    message_id = models.CharField(max_length=128, blank=True)
    error = models.TextField()
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(db_default=Now())
    requeued_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at"], name="worker_deadletter_created")]

    def __str__(self) -> str:
        return f"{self.action}: {self.error[:60]}"


class ScheduledJob(models.Model):
    """When each periodic job was last enqueued; the conditional update on this row lets one process win."""

    name = models.CharField(max_length=100, primary_key=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
