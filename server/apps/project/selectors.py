"""Reads on projects, already scoped to the user asking."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from server.apps.project.models import Project, RetentionRun


def project_list_for_user(*, user) -> QuerySet[Project]:
    """The projects of ``user``'s organisations, each with its ``device_count``."""
    return (
        Project.objects.restrict(user, "view")
        .select_related("org", "created_by")
        .annotate(device_count=Count("devices", distinct=True))
        .order_by("org__name", "name")  # a grouped query drops the model's default ordering
    )


def project_list_for_org(*, user, org) -> QuerySet[Project]:
    return project_list_for_user(user=user).filter(org=org)


def retention_run_list(*, user) -> QuerySet[RetentionRun]:
    """The retention runs of the projects whose organisation ``user`` owns (all of them for staff), newest first."""
    return RetentionRun.objects.restrict(user, "view").select_related("project", "created_by")
