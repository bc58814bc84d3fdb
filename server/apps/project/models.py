"""Projects group an organisation's devices that measure the same things."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Func, Value
from django.utils import timezone

from server.apps.core import slugs
from server.apps.core.scoping import ScopedQuerySet

# The sequence is created by the app's first migration; gids are never reused.
PROJECT_GID_SEQUENCE = "project_project_gid_seq"


class Project(models.Model):
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
    created_on = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "add": "can_manage_org_and_projects",
        "change": "can_manage_org_and_projects",
        "delete": "can_manage_org_and_projects",
    }

    class Meta:
        ordering = ["org", "name"]
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="project_unique_name_per_org")]

    def __str__(self) -> str:
        return self.name

    @property
    def slug(self) -> str:
        return slugs.project_slug(self.gid)
