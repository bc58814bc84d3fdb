"""Projects group an organisation's devices that measure the same things."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Func, Value

from server.apps.core import slugs
from server.apps.core.models import CreatedModel
from server.apps.core.scoping import Ability, ScopedQuerySet

# The sequence is created by the app's first migration; gids are never reused.
PROJECT_GID_SEQUENCE = "project_project_gid_seq"
# A retention period longer than this (about a century) is a typo, not a policy.
RETENTION_MAX_DAYS = 36500


class Project(CreatedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gid = models.BigIntegerField(
        unique=True, editable=False, db_default=Func(Value(PROJECT_GID_SEQUENCE), function="nextval")
    )
    name = models.CharField(max_length=100)
    about = models.TextField(blank=True)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="projects")
    # Whether ingesting a report creates the variable and stream of a reading whose stream the project lacks;
    # when off, such readings are skipped (and counted on the report).
    auto_create_streams = models.BooleanField(default=True)
    # How many days of stream data and of events the project keeps (None: all of it). The worker's daily
    # ``DataRetention`` removes what is older, a day at a time (docs/retention.md). Owners set them.
    data_retention_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(RETENTION_MAX_DAYS)]
    )
    event_retention_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(RETENTION_MAX_DAYS)]
    )

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "add": "can_manage_org_and_projects",
        "change": "can_manage_org_and_projects",
        "delete": "can_manage_org_and_projects",
        # Retention deletes data for good: owners only.
        "set_retention": "can_delete_org",
    }

    class Meta:
        ordering = ["org", "name"]
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="project_unique_name_per_org")]

    def __str__(self) -> str:
        return self.name

    @property
    def slug(self) -> str:
        return slugs.project_slug(self.gid)


class RetentionRunStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (the worker retries it)"


class RetentionRun(CreatedModel):
    """A project's retention run asked for now, by an owner or staff (docs/retention.md): the worker's
    ``DataRetention`` applies the project's retention and writes here what it removed and the disk it freed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="retention_runs")
    status = models.CharField(max_length=9, choices=RetentionRunStatus.choices, default=RetentionRunStatus.SCHEDULED)
    completed_on = models.DateTimeField(null=True, blank=True)
    partitions_dropped = models.JSONField(default=list, blank=True)
    rows_deleted = models.PositiveBigIntegerField(default=0, help_text="Readings deleted from partitions kept.")
    events_deleted = models.PositiveBigIntegerField(default=0, help_text="Events deleted from partitions kept.")
    # The partitions' size before minus after (tables and indexes of both tables): negative when more came in.
    bytes_freed = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "project__org"
    # Like setting retention, running it is for owners; so is its record.
    scope_permissions = dict.fromkeys(("view", "add", "change", "delete"), "can_delete_org")

    class Meta:
        ordering = ["-created_on"]

    def __str__(self) -> str:
        return f"retention of {self.project_id} ({self.status})"


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
DELETE_PROJECTS = Ability("delete_project", Project, "delete")
