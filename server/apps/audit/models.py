"""Audit log entries: django-auditlog's entry, with the organisation it is scoped to and the device that acted."""

from __future__ import annotations

from typing import Any

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.db import models

from server.apps.audit.context import current_actor
from server.apps.audit.registry import org_id_of
from server.apps.core.scoping import STAFF_ONLY, Ability, ScopedQuerySet


class AuditEntryManager(LogEntryManager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    # (misc: mypy cannot type a manager class made by from_queryset.)
    def log_create(self, instance: models.Model, force_log: bool = False, **kwargs: Any) -> Any:
        """django-auditlog's ``log_create``, adding the entry's organisation and who acted (``context``)."""
        actor = current_actor()
        kwargs.setdefault("org_id", org_id_of(instance))
        if actor.user is not None:
            kwargs.setdefault("actor_id", actor.user.pk)
            kwargs.setdefault("actor_email", actor.user.email or None)
        kwargs.setdefault("actor_device_id", actor.device_id)
        kwargs.setdefault("remote_addr", actor.remote_addr)
        return super().log_create(instance, force_log=force_log, **kwargs)


class AuditEntry(AbstractLogEntry):
    """One change to an audited row (``registry.AUDITED``): ``changes`` maps each changed field to ``[before,
    after]``. The organisation and the device are kept as ids without constraints, so the log outlives them."""

    org = models.ForeignKey(
        "org.Org", on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )
    actor_device = models.ForeignKey(
        "device.Device", on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )

    objects = AuditEntryManager()
    scope_org_path = "org"
    # Owners read the log (the owner role alone holds can_delete_org); nobody writes it but the platform.
    scope_permissions = {"view": "can_delete_org", "add": STAFF_ONLY, "change": STAFF_ONLY, "delete": STAFF_ONLY}

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["org", "-timestamp"], name="audit_org_time")]


READ_AUDIT_LOG = Ability("view_auditentry", AuditEntry, "view")
