"""Reads on stream filters and alerts, already scoped to a user; and the active filters ingest evaluates, kept
compiled in the process while their project's filter revision stays."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Prefetch, QuerySet

from server.apps.streamfilter.machine import CompiledFilter
from server.apps.streamfilter.models import (
    StreamFilter,
    StreamFilterAction,
    StreamFilterAlert,
    StreamFilterState,
    StreamFilterTransition,
    StreamFilterTrigger,
)

if TYPE_CHECKING:
    from server.apps.project.models import Project

# The compiled filters this process holds, by project id (as text), with the project's filter revision they were
# compiled at (``StreamFilterRevision``): a batch reads the revisions with its reports and keeps these objects while
# they are current.
_compiled: dict[str, tuple[int, list[CompiledFilter]]] = {}

# The path from a project to its filter revision, for ``select_related`` (``active_filters`` reads it there).
PROJECT_REVISION = "stream_filter_revision"


def _active_filters_sql() -> str:
    f, s, t, g, a = (
        model._meta.db_table
        for model in (StreamFilter, StreamFilterState, StreamFilterTransition, StreamFilterTrigger, StreamFilterAction)
    )
    triggers = (
        "COALESCE((SELECT json_agg(json_build_object('operator', g.operator, 'threshold', g.threshold, "
        f"'deadband', g.deadband) ORDER BY g.id) FROM {g} g WHERE g.transition_id = t.id), '[]'::json)"
    )
    return (
        "SELECT f.id, f.name, f.org_id, f.project_id, f.variable_id, f.device_id, f.initial_state, "
        f"COALESCE((SELECT json_agg(json_build_object('src', src.label, 'dst', dst.label, 'triggers', {triggers}) "
        f"ORDER BY t.id) FROM {t} t JOIN {s} src ON src.id = t.src_id JOIN {s} dst ON dst.id = t.dst_id "
        "WHERE t.filter_id = f.id), '[]'::json), "
        "COALESCE((SELECT json_agg(json_build_object('id', a.id, 'state', st.label, 'type', a.type, "
        "'recipients', a.recipients, 'url', a.url, 'note', a.note, 'output_stream_id', a.output_stream_id, "
        f"'output_value', a.output_value) ORDER BY a.id) FROM {a} a JOIN {s} st ON st.id = a.state_id "
        "WHERE st.filter_id = f.id), '[]'::json) "
        # The partial index streamfilter_active_project.
        f"FROM {f} f WHERE f.active AND f.project_id = ANY(%s::uuid[]) ORDER BY f.id"
    )


def active_filters(*, projects: Iterable[Project | None]) -> dict[str, list[CompiledFilter]]:
    """The active filters of these projects, compiled, by project id (as text). Each project's filter revision is
    read from the project (``select_related`` it, ``PROJECT_REVISION``: ingest loads it with the batch's reports, so
    a check costs no query): a project whose filters were never written has none, and no filter; a project whose
    revision is the one this process compiled at keeps its compiled filters. The others cost one query for all of
    them together. A filter write moves the revision in its own transaction, so the next batch sees it."""
    revisions: dict[str, int] = {}
    for project in projects:
        if project is not None:
            revision = getattr(project, PROJECT_REVISION, None)  # None: no row (an AttributeError)
            if revision is not None:
                revisions[str(project.pk)] = revision.number
    found: dict[str, list[CompiledFilter]] = {}
    missing = []
    for project_id, number in revisions.items():
        held = _compiled.get(project_id)
        if held is not None and held[0] == number:
            found[project_id] = held[1]
        else:
            missing.append(project_id)
    if missing:
        rows: dict[str, list] = {project_id: [] for project_id in missing}
        with connection.cursor() as cursor:
            cursor.execute(_active_filters_sql(), [missing])
            for row in cursor.fetchall():
                rows[str(row[3])].append(row)
        for project_id, project_rows in rows.items():
            found[project_id] = [CompiledFilter.from_row(row) for row in project_rows]
            _compiled[project_id] = (revisions[project_id], found[project_id])
    return found


def filter_list(*, user, action: str = "view") -> QuerySet[StreamFilter]:
    """The filters ``user`` may see, with their whole definition (four queries after the page's, whatever its size)."""
    return (
        StreamFilter.objects.restrict(user, action)
        .select_related("org", "project", "variable", "device", "created_by")
        .prefetch_related(
            Prefetch(
                "states",
                queryset=StreamFilterState.objects.prefetch_related(
                    Prefetch("actions", queryset=StreamFilterAction.objects.select_related("output_stream"))
                ),
            ),
            Prefetch(
                "transitions",
                queryset=StreamFilterTransition.objects.select_related("src", "dst").prefetch_related("triggers"),
            ),
        )
    )


def alert_list(*, user, action: str = "view") -> QuerySet[StreamFilterAlert]:
    return StreamFilterAlert.objects.restrict(user, action).select_related(
        "org", "project", "filter", "acknowledged_by", "cleared_by"
    )
