"""What the audit log records: the models an operator, the API or a device changes, each with the path from a row to
its organisation (the entry's scope) and the fields left out or masked.

django-auditlog's signal receivers write one entry per ``save()`` that changes a field (diffed against the row in
the database) and one per ``delete()``. Writes that go around the model's signals (``QuerySet.update``,
``bulk_update``) record their entries through ``services.audit_changes_record``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditlog.registry import auditlog
from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class Audited:
    label: str
    # Attributes from the row to its organisation's id: "" for Org itself, "org_id", "device.org_id".
    org_path: str
    exclude_fields: tuple[str, ...] = ()
    mask_fields: tuple[str, ...] = field(default=())


AUDITED: tuple[Audited, ...] = (
    Audited("org.Org", ""),
    Audited("org.OrgMembership", "org_id"),
    # Projects: their settings, retention included (which removes data for good).
    Audited("project.Project", "org_id"),
    Audited("device.Device", "org_id"),
    Audited("deviceauth.DeviceKey", "device.org_id", mask_fields=("secret",)),
    Audited("configattribute.ConfigAttribute", "org_id"),
    # The operation's history is a log of its own; its status, result and error tell the change.
    Audited("operation.DeviceOperation", "org_id", exclude_fields=("history",)),
    Audited("fleet.Fleet", "org_id"),
    Audited("fleet.FleetMembership", "fleet.org_id"),
    Audited("ota.DeviceScript", "org_id"),
    Audited("ota.DeploymentRequest", "org_id"),
    Audited("ota.DeploymentAction", "deployment.org_id"),
    # Telemetry: who made, changed and mapped physical and logical devices, and the webhook integrations.
    Audited("telemetry.PhysicalDevice", "org_id", exclude_fields=("last_seen",)),
    Audited("telemetry.LogicalDevice", "org_id", exclude_fields=("last_seen",)),
    Audited("telemetry.DeviceMapping", "org_id"),
    Audited("telemetry.TtnIntegration", "org_id", mask_fields=("secret",)),
    Audited("forwarding.Destination", "org_id", mask_fields=("secret",)),
    Audited("streamfilter.StreamFilter", "org_id"),
    Audited("streamfilter.StreamFilterState", "filter.org_id"),
    Audited("streamfilter.StreamFilterTransition", "filter.org_id"),
    Audited("streamfilter.StreamFilterTrigger", "transition.filter.org_id"),
    Audited("streamfilter.StreamFilterAction", "state.filter.org_id"),
    Audited("report.UserReport", "org_id"),
)
_ORG_PATHS: dict[str, str] = {}


# What an entry shows for a masked field's value: never a part of the secret, nor its length.
SECRET_MASK = "********"


def secret_mask(value: str) -> str:
    """django-auditlog's masking of ``mask_fields`` (it hands over ``str(value)``). Its default shows the second half
    of the value, half of a device key or a webhook secret to whoever reads the log; this shows only whether one
    was set."""
    return value if value in ("", "None") else SECRET_MASK


def register_audited_models() -> None:
    for audited in AUDITED:
        model = apps.get_model(audited.label)
        _ORG_PATHS[model._meta.label] = audited.org_path
        # The rows pointing at this one (a device's streams, a filter's states) are not its fields: django-auditlog
        # would record each as "<model>.None" in every create and delete entry.
        reverse = [field.name for field in model._meta.get_fields() if field.auto_created and not field.concrete]
        auditlog.register(
            model,
            exclude_fields=[*audited.exclude_fields, *reverse],
            mask_fields=list(audited.mask_fields),
            mask_callable=f"{__name__}.secret_mask",
            m2m_fields=set(),
        )


def org_id_of(instance: models.Model) -> Any:
    """The id of the organisation ``instance`` belongs to (``None`` for a device no organisation has claimed)."""
    path = _ORG_PATHS[instance._meta.label]
    if not path:
        return instance.pk
    value: Any = instance
    for name in path.split("."):
        value = getattr(value, name, None)
        if value is None:
            return None
    return value
