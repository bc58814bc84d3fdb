"""Writes on projects."""

from __future__ import annotations

from django.db import transaction

from server.apps.core.errors import ApplicationError
from server.apps.project.models import Project


@transaction.atomic
def project_create(*, org, name: str, created_by, about: str = "") -> Project:
    if Project.objects.filter(org=org, name=name).exists():
        raise ApplicationError(
            "This organisation already has a project with this name.", {"name": [f"'{name}' is taken."]}
        )
    project = Project(org=org, name=name, about=about, created_by=created_by)
    project.full_clean(exclude=["gid"])
    project.save()
    project.refresh_from_db(fields=["gid"])
    return project
