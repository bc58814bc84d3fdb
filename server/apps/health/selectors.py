"""Reads of device health."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

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
