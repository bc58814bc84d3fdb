"""Entries for writes that go around the model's signals (``bulk_update``, ``QuerySet.update``): the caller keeps a
copy of each row as it was and passes it with the row as saved."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditlog.diff import model_instance_diff
from django.db import models

from server.apps.audit.models import AuditEntry


def audit_changes_record(*, changed: Iterable[tuple[models.Model, models.Model, int | None]]) -> list[AuditEntry]:
    """One update entry per ``(before, after, acting device id)`` whose audited fields differ, inside the caller's
    transaction. The device, when given, is the actor even outside a request (a reply over MQTT)."""
    entries = []
    for before, after, device_id in changed:
        changes = model_instance_diff(before, after, use_json_for_changes=True)
        if changes:
            extra: dict[str, Any] = {"actor_device_id": device_id} if device_id is not None else {}
            entries.append(
                AuditEntry.objects.log_create(after, action=AuditEntry.Action.UPDATE, changes=changes, **extra)
            )
    return entries
