"""Reads of device health."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from server.apps.health.models import DeviceHealth, HealthStatus


def project_health_counts(*, project: Any) -> dict[str, int]:
    """How many of the project's watched devices are OK, FAIL and UNK (one query)."""
    rows = (
        DeviceHealth.objects.filter(device__project=project, device__active=True)
        .values("status")
        .annotate(count=Count("pk"))
    )
    counts = {status.value: 0 for status in HealthStatus}
    counts.update({row["status"]: row["count"] for row in rows})
    return counts


def device_health_list(*, user: Any) -> QuerySet[DeviceHealth]:
    """The health rows of the devices ``user`` sees."""
    return DeviceHealth.objects.restrict(user, "view").select_related("device", "device__org")


def device_health_for(*, device: Any) -> DeviceHealth:
    """The device's health row, or the defaults it would have (unsaved: only the check and a change write it)."""
    return DeviceHealth.objects.filter(device=device).first() or DeviceHealth(device=device)
