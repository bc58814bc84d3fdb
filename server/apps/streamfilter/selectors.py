"""Reads on stream filters and alerts, already scoped to a user; and the active filters ingest evaluates, cached."""

from __future__ import annotations

import hashlib
import json
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

# The compiled filters this process holds, by project id (as text), with the digest of the definitions they were
# compiled from. The cache holds only the digest: a batch reads a short string, not its projects' filters
# unpickled again, and keeps this process's objects while the digest in the cache is theirs.
_compiled: dict[str, tuple[str, list[CompiledFilter]]] = {}


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
    """The active filters of these projects, compiled, by project id (as text). One cache read for all of them (the
    digest of each project's definitions: the filters themselves stay in this process's memory); the projects the
    cache lacks, or whose digest is not the one this process compiled, cost one query for all of them together. A
    project without filters is cached too (the digest of none), so ingest into projects without filters makes no
    query at all once warm. The digest is of the definitions, so processes that load the same ones agree on it."""
    keys = {active_filters_key(project_id): str(project_id) for project_id in set(project_ids) if project_id}
    if not keys:
        return {}
    digests = cache.get_many(list(keys))
    found: dict[str, list[CompiledFilter]] = {}
    missing = []
    for key, project in keys.items():
        held = _compiled.get(project)
        if held is not None and key in digests and digests[key] == held[0]:
            found[project] = held[1]
        else:
            missing.append(project)
    if missing:
        rows: dict[str, list] = {project: [] for project in missing}
        with connection.cursor() as cursor:
            cursor.execute(_active_filters_sql(), [missing])
            for row in cursor.fetchall():
                rows[str(row[3])].append(row)
        loaded = {}
        for project, project_rows in rows.items():
            digest = hashlib.blake2b(json.dumps(project_rows, default=str).encode(), digest_size=16).hexdigest()
            loaded[project] = [CompiledFilter.from_row(row) for row in project_rows]
            _compiled[project] = (digest, loaded[project])
            digests[active_filters_key(project)] = digest
        cache.set_many({active_filters_key(p): digests[active_filters_key(p)] for p in loaded}, ACTIVE_FILTERS_TIMEOUT)
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
