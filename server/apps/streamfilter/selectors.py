"""Reads on stream filters and alerts, already scoped to a user; and the active filters ingest evaluates, cached."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
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

# How long a worker keeps a project's compiled filters. Filter writes drop the entry when they commit; with the
# per-process local-memory cache (no REDIS_URL) other processes see a change within this time.
ACTIVE_FILTERS_TIMEOUT = 30


def active_filters_key(project_id) -> str:
    return f"streamfilter:active:{project_id}"


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


def active_filters(*, project_ids: Iterable) -> dict[str, list[CompiledFilter]]:
    """The active filters of these projects, compiled, by project id (as text). From the cache; the projects it
    lacks cost one query for all of them together, and a project without filters is cached too (an empty list),
    so ingest into projects without filters makes no query at all once warm."""
    keys = {active_filters_key(project_id): str(project_id) for project_id in set(project_ids) if project_id}
    if not keys:
        return {}
    cached = cache.get_many(list(keys))
    found: dict[str, list[CompiledFilter]] = {keys[key]: value for key, value in cached.items()}
    missing = [project for key, project in keys.items() if key not in cached]
    if missing:
        loaded: dict[str, list[CompiledFilter]] = {project: [] for project in missing}
        with connection.cursor() as cursor:
            cursor.execute(_active_filters_sql(), [missing])
            for row in cursor.fetchall():
                compiled = CompiledFilter.from_row(row)
                loaded[compiled.project_id].append(compiled)
        cache.set_many({active_filters_key(p): filters for p, filters in loaded.items()}, ACTIVE_FILTERS_TIMEOUT)
        found.update(loaded)
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
