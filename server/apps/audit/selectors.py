"""Reads of the audit log, scoped to the organisations where the user is an owner."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from server.apps.audit.models import AuditEntry

CSV_COLUMNS = ("timestamp", "org", "action", "model", "object_pk", "object", "actor", "device", "changes")
CSV_CHUNK = 2000


def audit_entry_list(*, user: Any) -> QuerySet[AuditEntry]:
    """The entries of the organisations where ``user`` may read the log, newest first (one query)."""
    return (
        AuditEntry.objects.restrict(user, "view")
        .select_related("content_type", "org", "actor", "actor_device")
        .order_by("-timestamp", "-id")
    )


def entry_model(entry: AuditEntry) -> str:
    """The changed row's model as ``app_label.model`` (``device.device``)."""
    return f"{entry.content_type.app_label}.{entry.content_type.model}"


def entry_action(entry: AuditEntry) -> str:
    return str(entry.get_action_display())


def audit_csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """The entries as CSV lines, header first, written one at a time so an export of any length stays small."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for entry in entries:
        yield line(
            (
                entry.timestamp.isoformat(),
                entry.org.slug if entry.org else "",
                entry_action(entry),
                entry_model(entry),
                entry.object_pk,
                entry.object_repr,
                entry.actor.username if entry.actor else "",
                entry.actor_device.slug if entry.actor_device else "",
                json.dumps(entry.changes, sort_keys=True),
            )
        )
