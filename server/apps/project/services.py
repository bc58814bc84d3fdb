"""Writes on projects. Who may call them is checked by the caller through the scoping mechanism."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.project.models import Project, RetentionRun, RetentionRunStatus
from server.apps.worker.queue import enqueue_on_commit


class Unchanged:
    """The type of ``UNCHANGED``: a field the update leaves as it is, where ``None`` is a value of its own."""


UNCHANGED = Unchanged()
PROJECT_UPDATE_FIELDS = ("name", "about", "auto_create_streams", "data_retention_days", "event_retention_days")


def _save(project: Project, **kwargs) -> None:
    # The per-org unique constraint settles a race between two writes the check above let through.
    try:
        with transaction.atomic():
            project.save(**kwargs)
    except IntegrityError as exc:
        raise ApplicationError(
            "This organisation already has a project with this name.", {"name": [f"'{project.name}' is taken."]}
        ) from exc


def _ensure_name_free(*, org, name: str, exclude_pk=None) -> None:
    taken = Project.objects.filter(org=org, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ApplicationError(
            "This organisation already has a project with this name.", {"name": [f"'{name}' is taken."]}
        )


@transaction.atomic
def project_create(
    *,
    org,
    name: str,
    created_by,
    about: str = "",
    auto_create_streams: bool = True,
    data_retention_days: int | None = None,
    event_retention_days: int | None = None,
) -> Project:
    _ensure_name_free(org=org, name=name)
    project = Project(
        org=org,
        name=name,
        about=about,
        auto_create_streams=auto_create_streams,
        data_retention_days=data_retention_days,
        event_retention_days=event_retention_days,
        created_by=created_by,
    )
    project.full_clean(exclude=["gid"])
    _save(project)
    project.refresh_from_db(fields=["gid"])
    return project


@transaction.atomic(durable=True)
def project_update(
    *,
    project: Project,
    name: str | None = None,
    about: str | None = None,
    auto_create_streams: bool | None = None,
    data_retention_days: int | Unchanged | None = UNCHANGED,
    event_retention_days: int | Unchanged | None = UNCHANGED,
) -> Project:
    """Rename or describe a project, say whether ingestion creates streams for variables it lacks (``None`` leaves
    these as they are), or set how many days of data and events it keeps (``None``: all; ``UNCHANGED`` leaves them;
    callers let only owners set them). Its id, gid and slug never change, so device and stream slugs stay valid.
    The change is in the audit log (``project.Project`` is audited)."""
    if name is not None and name != project.name:
        _ensure_name_free(org=project.org, name=name, exclude_pk=project.pk)
        project.name = name
    if about is not None:
        project.about = about
    if auto_create_streams is not None:
        project.auto_create_streams = auto_create_streams
    if not isinstance(data_retention_days, Unchanged):
        project.data_retention_days = data_retention_days
    if not isinstance(event_retention_days, Unchanged):
        project.event_retention_days = event_retention_days
    project.full_clean(exclude=["gid"])
    _save(project, update_fields=[*PROJECT_UPDATE_FIELDS])
    return project


@transaction.atomic(durable=True)
def project_delete(*, project: Project) -> None:
    """Delete a project with its variables and streams.

    Refused while devices are claimed into it: their readings live in the stream-data database, out of reach of a
    cascade, so devices are unclaimed (or moved) through the device services first.
    """
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.devices.exists():
        raise ConflictError("This project still has devices: unclaim or move them first.")
    project.delete()


@transaction.atomic(durable=True)
def retention_run_create(*, user, project: Project) -> RetentionRun:
    """Have the worker apply ``project``'s retention now (``DataRetention`` for this project, after the commit),
    rather than at its daily run; owners and staff only. Refused for a project that keeps everything."""
    if not user_has_org_permission(user, project.org, permission_for(RetentionRun, "add")):
        raise PermissionDeniedError("Only the organisation's owners may run retention.")
    if project.data_retention_days is None and project.event_retention_days is None:
        raise ApplicationError(
            "This project keeps all its data: set data_retention_days or event_retention_days first.",
            {"project": ["The project has no retention."]},
        )
    run = RetentionRun.objects.create(project=project, created_by=user)
    enqueue_on_commit("DataRetention", {"run_id": str(run.pk)})
    return run


@transaction.atomic(durable=True)
def retention_run_start(*, run_id: str) -> RetentionRun | None:
    """Mark the run running (again, on a retry); ``None`` when it is done already or went with its project."""
    run = RetentionRun.objects.select_for_update().select_related("project").filter(pk=run_id).first()
    if run is None or run.status == RetentionRunStatus.DONE:
        return None
    run.status, run.error = RetentionRunStatus.RUNNING, ""
    run.save(update_fields=["status", "error"])
    return run


def retention_run_finish(
    *, run: RetentionRun, partitions_dropped: Sequence[str], rows_deleted: int, events_deleted: int, bytes_freed: int
) -> None:
    """Record what the run removed."""
    RetentionRun.objects.filter(pk=run.pk).update(
        status=RetentionRunStatus.DONE,
        completed_on=timezone.now(),
        partitions_dropped=list(partitions_dropped),
        rows_deleted=rows_deleted,
        events_deleted=events_deleted,
        bytes_freed=bytes_freed,
        error="",
    )


def retention_run_fail(*, run: RetentionRun, error: str) -> None:
    """Record why the run failed; the worker's retry starts it again."""
    RetentionRun.objects.filter(pk=run.pk).update(status=RetentionRunStatus.FAILED, error=error[:2000])
