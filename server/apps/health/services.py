"""The health check: each watched device's status from its last report or message, notified once per change."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.device.models import Device
from server.apps.health.models import DeviceHealth, HealthStatus
from server.apps.operation.models import DevicePresence
from server.apps.streamer.models import StreamerReport
from server.apps.telemetry.models import PhysicalDevice

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


# Devices just heard from that were not OK, locked in the order the check locks them (no deadlock between the two),
# turn OK as of the time heard: the only rows written are those that change.
_HEARD_SQL = f"""
WITH heard (device_id, at) AS (SELECT * FROM unnest(%s::bigint[], %s::timestamptz[])),
before AS (
    SELECT health.device_id, health.status FROM {DeviceHealth._meta.db_table} AS health
    JOIN heard USING (device_id)
    WHERE health.status <> %s AND heard.at >= %s::timestamptz - health.period
    ORDER BY health.device_id FOR UPDATE OF health
)
UPDATE {DeviceHealth._meta.db_table} AS health SET status = %s, changed_on = heard.at
FROM before, heard, {Device._meta.db_table} AS device
WHERE health.device_id = before.device_id AND heard.device_id = health.device_id AND device.id = health.device_id
    AND health.status <> %s
RETURNING health.device_id, device.slug, before.status, health.recipients, health.changed_on
"""


def device_health_heard(*, heard: Mapping[int, datetime], now: datetime | None = None) -> int:
    """Devices just heard from (``heard``: device id → when) turn OK at once, rather than at the next check: one
    ``UPDATE`` that writes only the watched rows not OK yet whose period covers the time heard (a device already OK
    costs an index probe and no write). Each change is notified once, after the commit, as the check's are. Returns
    the number of changes."""
    if not heard:
        return 0
    now = now or timezone.now()
    ids = sorted(heard)
    with connection.cursor() as cursor:
        cursor.execute(
            _HEARD_SQL,
            [ids, [heard[pk] for pk in ids], HealthStatus.OK, now, HealthStatus.OK, HealthStatus.OK],
        )
        changed = cursor.fetchall()
    for device_id, slug, before, recipients, changed_on in changed:
        health = DeviceHealth(
            device=Device(id=device_id, slug=slug),
            status=HealthStatus.OK,
            changed_on=changed_on,
            recipients=recipients,
        )
        transaction.on_commit(partial(_notify, health, before))
    return len(changed)


_WATCH_SQL = f"""
INSERT INTO {DeviceHealth._meta.db_table} (device_id, period, status, recipients)
SELECT device.id, %s, %s, '' FROM {Device._meta.db_table} AS device
WHERE device.active AND device.project_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM {DeviceHealth._meta.db_table} AS health WHERE health.device_id = device.id)
ON CONFLICT (device_id) DO NOTHING
"""


@transaction.atomic
def device_health_check(*, now: datetime | None = None) -> int:
    """Update every watched device's status; one e-mail per change, after commit. Only the rows whose status
    changes are read, locked and written, so a run costs three statements whatever the number of devices (two when
    nothing changed), and concurrent runs (or a device heard meanwhile, ``device_health_heard``) cannot both see,
    and notify, the same change. Returns the number of changes."""
    now = now or timezone.now()
    # Every active claimed device is watched: one with no row yet gets one (UNK, the default period).
    with connection.cursor() as cursor:
        cursor.execute(_WATCH_SQL, [DeviceHealth._meta.get_field("period").default, HealthStatus.UNK])
    last_report = (
        StreamerReport.objects.filter(streamer__device_id=OuterRef("device_id"))
        .order_by("-created_on")
        .values("created_on")[:1]
    )
    last_seen = DevicePresence.objects.filter(device_id=OuterRef("device_id")).values("last_seen")[:1]
    # Telemetry (HTTP, MQTT, TTN) keeps its own last message time on the device's physical identity.
    last_message = PhysicalDevice.objects.filter(device_id=OuterRef("device_id")).values("last_seen")[:1]
    # A device turned OK when heard (changed_on) was heard then, whether or not its presence row says so yet.
    turned_ok = Case(When(status=HealthStatus.OK, then=F("changed_on")), output_field=DateTimeField())
    rows = (
        DeviceHealth.objects.select_for_update(of=("self",))
        .select_related("device")
        .annotate(last_heard=Greatest(Subquery(last_report), Subquery(last_seen), Subquery(last_message), turned_ok))
        .annotate(
            new_status=Case(
                When(last_heard__isnull=True, then=Value(HealthStatus.UNK)),
                When(last_heard__gte=Value(now) - F("period"), then=Value(HealthStatus.OK)),
                default=Value(HealthStatus.FAIL),
            )
        )
        .exclude(status=F("new_status"))
        .order_by("device_id")
    )
    changes = []
    for health in rows:
        before = health.status
        # Turning OK, the device is OK since it was heard; turning FAIL (or UNK), since now.
        health.status = health.new_status
        health.changed_on = health.last_heard if health.status == HealthStatus.OK else now
        changes.append((health, before))
    if changes:
        DeviceHealth.objects.bulk_update([health for health, _ in changes], ["status", "changed_on"])
    for health, before in changes:
        transaction.on_commit(partial(_notify, health, before))
    return len(changes)
