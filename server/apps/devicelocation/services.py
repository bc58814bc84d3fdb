"""Writes on device locations. A device's own ``lat``/``lon`` follow its latest recorded location."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import user_can_create
from server.apps.core.services import model_update
from server.apps.core.targets import BLOCK, DEVICE, Target, targeted_rows_retarget
from server.apps.device.models import Device
from server.apps.devicelocation.models import DeviceLocation

LOCATION_TARGET_KINDS = (DEVICE, BLOCK)


def _device_position_follow(*, target: str, org_id, device_id: int) -> None:
    """Copy the target's latest location onto the device: one read, one UPDATE by primary key."""
    latest = (
        DeviceLocation.objects.filter(target=target, org_id=org_id)
        .order_by("-timestamp", "-id")
        .values("lat", "lon")
        .first()
    )
    if latest is not None:
        Device.objects.filter(pk=device_id).update(lat=latest["lat"], lon=latest["lon"])


@transaction.atomic
def device_locations_create(*, user, entries: Iterable[tuple[Target, dict[str, Any]]]) -> list[DeviceLocation]:
    """Locations from ``(target, fields)`` pairs (``lat``, ``lon``, optional ``timestamp``), all or none; needs
    ``can_modify_device``. Each device named then takes its latest location as its position."""
    rows: list[DeviceLocation] = []
    allowed: dict[str, bool] = {}
    devices: dict[str, Target] = {}
    for target, fields in entries:
        if target.kind not in LOCATION_TARGET_KINDS:
            raise ApplicationError("Locations belong to devices and data blocks.", {"target": ["Not a device."]})
        row = DeviceLocation(
            target=target.slug,
            target_kind=target.kind,
            org=target.org,
            timestamp=fields.get("timestamp") or timezone.now(),
            lat=fields["lat"],
            lon=fields["lon"],
            created_by=user,
        )
        if target.slug not in allowed:
            allowed[target.slug] = user_can_create(user, row)
        if not allowed[target.slug]:
            raise PermissionDeniedError("You may not record locations of this device.")
        if target.kind == DEVICE:
            devices[target.slug] = target
        rows.append(row)
    created = DeviceLocation.objects.bulk_create(rows)
    for target in devices.values():
        _device_position_follow(target=target.slug, org_id=target.org_id, device_id=target.obj.pk)
    return created


def device_location_create(
    *, user, target: Target, lat: Decimal, lon: Decimal, timestamp: datetime | None = None
) -> DeviceLocation:
    fields = {"lat": lat, "lon": lon, "timestamp": timestamp}
    return device_locations_create(user=user, entries=[(target, fields)])[0]


def _follow_after_change(location: DeviceLocation) -> None:
    if location.target_kind == DEVICE:
        device_id = Device.objects.filter(slug=location.target).values_list("pk", flat=True).first()
        if device_id is not None:
            _device_position_follow(target=location.target, org_id=location.org_id, device_id=device_id)


@transaction.atomic(durable=True)
def device_location_update(
    *, location: DeviceLocation, lat: Decimal | None = None, lon: Decimal | None = None, timestamp=None
) -> DeviceLocation:
    given = {"lat": lat, "lon": lon, "timestamp": timestamp}
    data = {field: value for field, value in given.items() if value is not None}
    model_update(location, fields=given, data=data, save_fields=given)
    _follow_after_change(location)
    return location


@transaction.atomic(durable=True)
def device_location_delete(*, location: DeviceLocation) -> None:
    """Delete a location; the device moves to the latest one left (and stays put when none is)."""
    location.delete()
    _follow_after_change(location)


# When the target moves (core/targets.py's metadata registry) ------------------------------------------------------


def device_locations_retarget(*, org_id, moves: Mapping[str, tuple[str, str]]) -> None:
    """The organisation's locations of the slugs in ``moves`` follow their target (a device into its data block)."""
    targeted_rows_retarget(DeviceLocation.objects.filter(org_id=org_id), moves=moves)


def device_locations_delete(*, org_id, target: str) -> None:
    """The organisation's locations of ``target``, deleted with it."""
    DeviceLocation.objects.filter(org_id=org_id, target=target).delete()
