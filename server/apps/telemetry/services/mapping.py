"""Physical devices, logical devices and the mappings between them (IoTa's rules, on stream aliases:
``services/series.py``). Reading and writing rights are the models' (``pd``: ``can_modify_device``; ``ld`` and
``map``: ``can_manage_stream_aliases``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from server.apps.core.errors import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.device.models import Device
from server.apps.device.services import device_create_in_project
from server.apps.streamalias.models import StreamAlias
from server.apps.telemetry.models import DeviceMapping, LogicalDevice, PhysicalDevice
from server.apps.telemetry.services.series import logical_series_tap, series_latest_tap

SOURCE_KEY_FIELDS = ("dev_eui",)


def _check(user: Any, org: Any, model: type, action: str) -> None:
    if not user_has_org_permission(user, org, permission_for(model, action)):
        raise PermissionDeniedError("You may not do this in this organisation.")


def _who(user: Any) -> str:
    return getattr(user, "username", "") or "platform"


def _source_key(source_ids: dict[str, Any]) -> str:
    for field in SOURCE_KEY_FIELDS:
        if isinstance(source_ids.get(field), str):
            return source_ids[field].lower()[:100]
    return ""


def _location(location: dict[str, Any] | None) -> dict[str, Decimal | None]:
    if location is None:
        return {}

    def degrees(value: Any) -> Decimal | None:
        return None if value is None else round(Decimal(str(value)), 9)

    return {"lat": degrees(location.get("lat")), "lon": degrees(location.get("long"))}


# Physical devices ---------------------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def physical_device_create(
    *,
    user: Any,
    project: Any = None,
    device: Device | None = None,
    name: str = "",
    source_name: str = "",
    source_ids: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    location: dict[str, Any] | None = None,
) -> PhysicalDevice:
    """A physical device: a new device claimed into ``project``, or ``device`` (of the organisation) given its
    telemetry identity."""
    org = device.org if device is not None else project.org
    _check(user, org, PhysicalDevice, "add")
    if device is None:
        device = device_create_in_project(project=project, label=name, created_by=user, **_location(location))
    elif PhysicalDevice.objects.filter(device=device).exists():
        raise ApplicationError(f"{device.slug} is a physical device already.", {"device": ["Already one."]})
    source_ids = source_ids or {}
    if device.org_id is None:
        raise ApplicationError(f"{device.slug} is not in an organisation.", {"device": ["Not claimed."]})
    physical = PhysicalDevice(
        device=device,
        org_id=device.org_id,
        source_name=source_name,
        source_key=_source_key(source_ids),
        source_ids=source_ids,
        properties=properties or {},
        created_by=user,
    )
    try:
        with transaction.atomic():
            physical.save(force_insert=True)
    except IntegrityError as exc:
        raise ApplicationError(
            "Another physical device of this source has these source ids.", {"source_ids": ["Taken."]}
        ) from exc
    return physical


@transaction.atomic(durable=True)
def physical_device_update(*, user: Any, physical: PhysicalDevice, **fields: Any) -> PhysicalDevice:
    _check(user, physical.org, PhysicalDevice, "change")
    device = physical.device
    device_fields = []
    if "name" in fields:
        device.label = fields.pop("name")
        device_fields.append("label")
    for field, value in _location(fields.pop("location", None)).items():
        setattr(device, field, value)
        device_fields.append(field)
    if device_fields:
        device.full_clean()
        device.save(update_fields=device_fields)
    for field in ("source_ids", "properties", "last_seen", "source_name"):
        if field in fields:
            setattr(physical, field, fields[field])
    physical.source_key = _source_key(physical.source_ids)
    try:
        with transaction.atomic():
            physical.save()
    except IntegrityError as exc:
        raise ApplicationError(
            "Another physical device of this source has these source ids.", {"source_ids": ["Taken."]}
        ) from exc
    return physical


@transaction.atomic(durable=True)
def physical_device_delete(*, user: Any, physical: PhysicalDevice) -> None:
    """Drops the telemetry identity: its current mapping ends now, then the history goes with it. The device, its
    streams and its data stay."""
    _check(user, physical.org, PhysicalDevice, "delete")
    current = physical.mappings.filter(end__isnull=True).select_related("logical_device", "physical_device__device")
    for mapping in current:
        _end(mapping=mapping, at=timezone.now(), user=user)
    physical.delete()


# Logical devices ----------------------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def logical_device_create(
    *,
    user: Any,
    project: Any,
    name: str,
    location: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
) -> LogicalDevice:
    _check(user, project.org, LogicalDevice, "add")
    logical = LogicalDevice(
        org_id=project.org_id,
        project=project,
        name=name,
        properties=properties or {},
        created_by=user,
        **_location(location),
    )
    logical.full_clean()
    logical.save()
    return logical


@transaction.atomic(durable=True)
def logical_device_from_physical(*, user: Any, physical: PhysicalDevice, map: bool = False) -> LogicalDevice:
    """IoTa's ``cpd``: a logical device named, placed and described as the physical one, mapped from now with
    ``map``."""
    device = physical.device
    if device.project_id is None:
        raise ApplicationError("The physical device is not in a project.", {"pd": ["Not in a project."]})
    _check(user, physical.org, LogicalDevice, "add")
    logical = LogicalDevice.objects.create(
        org_id=physical.org_id,
        project_id=device.project_id,
        name=device.label or device.slug,
        lat=device.lat,
        lon=device.lon,
        properties=dict(physical.properties),
        created_by=user,
    )
    if map:
        _start(user=user, physical=physical, logical=logical, start=timezone.now())
    return logical


@transaction.atomic(durable=True)
def logical_device_update(*, user: Any, logical: LogicalDevice, **fields: Any) -> LogicalDevice:
    _check(user, logical.org, LogicalDevice, "change")
    for field, value in _location(fields.pop("location", None)).items():
        setattr(logical, field, value)
    for field in ("name", "properties"):
        if field in fields:
            setattr(logical, field, fields[field])
    logical.full_clean()
    logical.save()
    return logical


@transaction.atomic(durable=True)
def logical_device_delete(*, user: Any, logical: LogicalDevice) -> None:
    """The logical device, its mappings and its series' aliases; the physical data stays."""
    _check(user, logical.org, LogicalDevice, "delete")
    StreamAlias.objects.filter(logical_series__logical_device=logical).delete()
    logical.delete()


# Mappings -----------------------------------------------------------------------------------------------------------


def _history(mapping: DeviceMapping, action: str, at: datetime, user: Any) -> None:
    mapping.history = [*mapping.history, {"at": at.isoformat(), "action": action, "by": _who(user)}]


def _end(*, mapping: DeviceMapping, at: datetime, user: Any) -> None:
    if at <= mapping.start:
        raise ApplicationError("A mapping ends after it starts.", {"end": ["Not after the start."]})
    latest = series_latest_tap(logical_device=mapping.logical_device)
    if latest is not None and at <= latest:
        raise ApplicationError(
            f"The logical device's series change at {latest.isoformat()}: the end must be later.",
            {"end": ["Too early."]},
        )
    if mapping.is_active:
        logical_series_tap(mapping=mapping, at=at, feeding=False, user=user)
    mapping.end = at
    _history(mapping, "end", at, user)
    mapping.save(update_fields=["end", "history"])


def _start(*, user: Any, physical: PhysicalDevice, logical: LogicalDevice, start: datetime) -> DeviceMapping:
    if physical.org_id != logical.org_id:
        raise ApplicationError("The devices are in different organisations.", {"ld": ["Another organisation."]})
    if DeviceMapping.objects.select_for_update().filter(end__isnull=True, physical_device=physical).exists():
        raise ApplicationError(
            f"Physical device {physical.pk} is mapped already; end its mapping first.", {"pd": ["Mapped already."]}
        )
    ended = logical.mappings.filter(end__isnull=False).aggregate(latest=Max("end"))["latest"]
    tapped = series_latest_tap(logical_device=logical)
    if (ended is not None and start < ended) or (tapped is not None and start <= tapped):
        latest = max(filter(None, [ended, tapped]))
        raise ApplicationError(
            f"The logical device's history goes to {latest.isoformat()}: the start must be later.",
            {"start": ["Too early."]},
        )
    # The logical device's current mapping is the sensor being replaced: it ends where the new one starts, and the
    # new taps at that instant carry the series on without a gap.
    replaced = DeviceMapping.objects.select_for_update().filter(end__isnull=True, logical_device=logical).first()
    if replaced is not None:
        if start <= replaced.start:
            raise ApplicationError("The start must be after the current mapping's.", {"start": ["Too early."]})
        replaced.end = start
        _history(replaced, "end", start, user)
        replaced.save(update_fields=["end", "history"])
    mapping = DeviceMapping(
        org_id=logical.org_id, physical_device=physical, logical_device=logical, start=start, created_by=user
    )
    _history(mapping, "start", start, user)
    try:
        with transaction.atomic():
            mapping.save(force_insert=True)
    except IntegrityError as exc:
        raise ConflictError("The mapping changed meanwhile; try again.") from exc
    logical_series_tap(mapping=mapping, at=start, feeding=True, user=user)
    return mapping


@transaction.atomic(durable=True)
def mapping_start(
    *, user: Any, physical: PhysicalDevice, logical: LogicalDevice, start: datetime | None = None
) -> DeviceMapping:
    """Map ``physical`` to ``logical`` from ``start`` (now): a 400 if the physical device is mapped; the logical
    device's current mapping ends at ``start`` (replacing its sensor: its series read on without a gap)."""
    _check(user, logical.org, DeviceMapping, "add")
    return _start(user=user, physical=physical, logical=logical, start=start or timezone.now())


def mapping_follow_replacement(*, replacement: Any, user: Any) -> DeviceMapping | None:
    """``device/<d>/replace/`` of a mapped physical device (a device replacement follower, inside its transaction):
    the mapping ends at the replacement time and the new device's starts there, to the same logical device and
    paused if it was; the new device becomes a physical device of the same source if it is not one. The series'
    taps are the replacement's own: it taps every alias reading the old device's streams, the logical series among
    them, onto the new device's streams at that instant, so they read on without a gap (and a paused series, whose
    latest tap reads nothing, stays so)."""
    old = (
        DeviceMapping.objects.select_for_update(of=("self",))
        .select_related("physical_device")
        .filter(end__isnull=True, physical_device__device=replacement.device)
        .first()
    )
    if old is None:
        return None
    at = replacement.timestamp
    if at <= old.start:
        raise ApplicationError(
            f"The device's mapping starts at {old.start.isoformat()}: the replacement time must be later.",
            {"timestamp": ["Not after the mapping's start."]},
        )
    physical = PhysicalDevice.objects.filter(device=replacement.new_device).first()
    if physical is None:
        physical = PhysicalDevice.objects.create(
            device=replacement.new_device,
            org_id=old.org_id,
            source_name=old.physical_device.source_name,
            created_by=user,
        )
    elif DeviceMapping.objects.filter(end__isnull=True, physical_device=physical).exists():
        raise ApplicationError(
            f"{replacement.new_device.slug} is mapped to a logical device already; end its mapping first.",
            {"new_device": ["Mapped already."]},
        )
    old.end = at
    _history(old, "end", at, user)
    old.save(update_fields=["end", "history"])
    mapping = DeviceMapping(
        org_id=old.org_id,
        physical_device=physical,
        logical_device_id=old.logical_device_id,
        start=at,
        is_active=old.is_active,
        created_by=user,
    )
    _history(mapping, "start", at, user)
    mapping.save(force_insert=True)
    return mapping


def _current(*, physical: PhysicalDevice | None, logical: LogicalDevice | None) -> DeviceMapping:
    rows = DeviceMapping.objects.select_for_update(of=("self",)).select_related(
        "logical_device", "physical_device__device"
    )
    mapping = rows.filter(
        end__isnull=True, **({"physical_device": physical} if physical else {"logical_device": logical})
    ).first()
    if mapping is None:
        raise NotFoundError("The device has no current mapping.")
    return mapping


@transaction.atomic(durable=True)
def mapping_end(
    *,
    user: Any,
    physical: PhysicalDevice | None = None,
    logical: LogicalDevice | None = None,
    end: datetime | None = None,
) -> DeviceMapping:
    mapping = _current(physical=physical, logical=logical)
    _check(user, mapping.logical_device.org, DeviceMapping, "change")
    _end(mapping=mapping, at=end or timezone.now(), user=user)
    return mapping


@transaction.atomic(durable=True)
def mapping_toggle(
    *, user: Any, is_active: bool, physical: PhysicalDevice | None = None, logical: LogicalDevice | None = None
) -> DeviceMapping:
    """Pause (``is_active`` False) or resume the current mapping: paused, the physical device's values are kept on
    its own streams but neither routed nor forwarded, and its logical series read nothing for that span."""
    mapping = _current(physical=physical, logical=logical)
    _check(user, mapping.logical_device.org, DeviceMapping, "change")
    if mapping.is_active == is_active:
        return mapping
    at = timezone.now()
    latest = series_latest_tap(logical_device=mapping.logical_device)
    if latest is not None and at <= latest:
        raise ConflictError("The logical device's series changed at this instant; try again.")
    logical_series_tap(mapping=mapping, at=at, feeding=is_active, user=user)
    mapping.is_active = is_active
    _history(mapping, "resume" if is_active else "pause", at, user)
    mapping.save(update_fields=["is_active", "history"])
    return mapping
