"""Reads on telemetry, already scoped to a user."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from server.apps.core.errors import ApplicationError
from server.apps.core.inputs import InputError, parse_id
from server.apps.telemetry.models import (
    DeviceMapping,
    LogicalDevice,
    LogicalSeries,
    PhysicalDevice,
    RawMessage,
    TtnIntegration,
)


def _current() -> Prefetch:
    return Prefetch("mappings", queryset=DeviceMapping.objects.filter(end__isnull=True), to_attr="current_mappings")


def raw_message_list(*, user: Any) -> QuerySet[RawMessage]:
    return RawMessage.objects.restrict(user, "view").select_related("device", "org")


def physical_device_list(*, user: Any, action: str = "view") -> QuerySet[PhysicalDevice]:
    return (
        PhysicalDevice.objects.restrict(user, action)
        .select_related("device", "device__project", "org")
        .prefetch_related(_current())
    )


def logical_device_list(*, user: Any, action: str = "view") -> QuerySet[LogicalDevice]:
    return (
        LogicalDevice.objects.restrict(user, action)
        .select_related("org", "project")
        .prefetch_related(Prefetch("series", queryset=LogicalSeries.objects.select_related("alias")), _current())
    )


def mapping_list(*, user: Any) -> QuerySet[DeviceMapping]:
    return DeviceMapping.objects.restrict(user, "view").select_related("created_by")


def integration_list(*, user: Any) -> QuerySet[TtnIntegration]:
    return TtnIntegration.objects.restrict(user, "view").select_related("org", "project")


def _visible(queryset: QuerySet, value: Any, field: str) -> Any:
    """A device named in a body: unknown or out of scope is the same 400."""
    try:
        found = queryset.filter(pk=parse_id(value, field)).first()
    except InputError as exc:
        raise ApplicationError(str(exc), {field: [str(exc)]}) from exc
    if found is None:
        raise ApplicationError(f"Unknown {field} {value}.", {field: [f"Unknown: {value}."]})
    return found


def visible_physical_device(*, user: Any, value: Any) -> PhysicalDevice:
    return _visible(physical_device_list(user=user), value, "pd")


def visible_logical_device(*, user: Any, value: Any) -> LogicalDevice:
    return _visible(logical_device_list(user=user), value, "ld")
