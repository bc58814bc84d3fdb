"""The health check: each watched device's status from its last report or message, notified once per change."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.device.models import Device
from server.apps.health.models import DeviceHealth, HealthStatus
from server.apps.operation.models import DevicePresence
from server.apps.streamer.models import StreamerReport

MIN_PERIOD = timedelta(minutes=1)
MAX_PERIOD = timedelta(days=90)
MAX_RECIPIENTS = 20


def _clean_recipients(recipients: list[str]) -> str:
    addresses = [address.strip() for address in recipients if address.strip()]
    if len(addresses) > MAX_RECIPIENTS:
        raise ApplicationError(
            f"At most {MAX_RECIPIENTS} recipients.", {"recipients": [f"At most {MAX_RECIPIENTS} addresses."]}
        )
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            message = f"'{address[:100]}' is not an e-mail address."
            raise ApplicationError(message, {"recipients": [message]}) from None
    return "\n".join(dict.fromkeys(addresses))


@transaction.atomic(durable=True)
def device_health_update(
    *, user, device: Device, period: timedelta | None = None, recipients: list[str] | None = None
) -> DeviceHealth:
    """Set how long ``device`` may stay quiet and still be OK, and who is told of each change of its status.
    Needs ``can_manage_org_and_projects`` in the device's organisation. The device's status is left to the check."""
    if not user_has_org_permission(user, device.org, permission_for(DeviceHealth, "change")):
        raise PermissionDeniedError("You may not change the health settings of this organisation's devices.")
    health, _ = DeviceHealth.objects.select_for_update().get_or_create(device=device)
    if period is not None:
        if not MIN_PERIOD <= period <= MAX_PERIOD:
            message = "The period is between one minute and 90 days."
            raise ApplicationError(message, {"period": [message]})
        health.period = period
    if recipients is not None:
        health.recipients = _clean_recipients(recipients)
    health.save(update_fields=["period", "recipients"])
    return health


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
