"""The health check: each watched device's status from its last report or message, notified once per change."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from server.apps.device.models import Device
from server.apps.health.models import DeviceHealth, HealthStatus
from server.apps.operation.models import DevicePresence
from server.apps.streamer.models import StreamerReport


def health_status(*, last_heard: datetime | None, period, now: datetime) -> str:
    if last_heard is None:
        return HealthStatus.UNK
    return HealthStatus.OK if now - last_heard <= period else HealthStatus.FAIL


def _notify(health: DeviceHealth, before: str) -> None:
    recipients = health.recipient_list
    if recipients:
        slug = health.device.slug
        send_mail(
            subject=f"Device {slug} is now {health.get_status_display()}",
            message=f"Device {slug} changed from {before} to {health.status} at {health.changed_on:%Y-%m-%d %H:%M}.",
            from_email=None,
            recipient_list=recipients,
        )


@transaction.atomic
def device_health_check(*, now: datetime | None = None) -> int:
    """Update every watched device's status; one e-mail per change, after commit. Rows are locked, so concurrent
    runs cannot both see (and notify) the same change. Returns the number of changes."""
    now = now or timezone.now()
    # Every active claimed device is watched: one with no row yet gets one (UNK, the default period).
    unwatched = Device.objects.filter(active=True, project__isnull=False, health__isnull=True).values_list(
        "id", flat=True
    )
    DeviceHealth.objects.bulk_create([DeviceHealth(device_id=pk) for pk in unwatched], ignore_conflicts=True)
    last_report = (
        StreamerReport.objects.filter(streamer__device_id=OuterRef("device_id"))
        .order_by("-created_on")
        .values("created_on")[:1]
    )
    last_seen = DevicePresence.objects.filter(device_id=OuterRef("device_id")).values("last_seen")[:1]
    rows = (
        DeviceHealth.objects.select_for_update(of=("self",))
        .select_related("device")
        .annotate(last_heard=Greatest(Subquery(last_report), Subquery(last_seen)))
    )
    changed = 0
    for health in rows:
        status = health_status(last_heard=health.last_heard, period=health.period, now=now)
        if status == health.status:
            continue
        before = health.status
        health.status, health.changed_on = status, now
        health.save(update_fields=["status", "changed_on"])
        transaction.on_commit(partial(_notify, health, before))
        changed += 1
    return changed
