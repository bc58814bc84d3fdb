"""Writes on devices: creation (staff), edits, claiming into a project and unclaiming out of it."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.lookups import device_id_from
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.slugs import SlugError, device_slug
from server.apps.device.models import Device, DeviceState
from server.apps.devicetemplate.models import DeviceTemplate
from server.apps.sensorgraph.models import SensorGraph
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.stream.services import device_streams_create, streams_delete

# Fields any user allowed to modify the device may change; the template needs staff (and ?staff=1).
EDITABLE_FIELDS = ("label", "lat", "lon", "external_id", "active")
MAX_CLAIMABLE_SLUGS = 1000


def _sensor_graph(slug: str | None) -> SensorGraph | None:
    if not slug:
        return None
    sg = SensorGraph.objects.filter(slug=slug).first()
    if sg is None:
        raise ApplicationError(f"Unknown sensor graph '{slug}'.", {"sg": [f"Unknown sensor graph: {slug}."]})
    return sg


def _template(slug: str | None) -> DeviceTemplate | None:
    if not slug:
        return None
    template = DeviceTemplate.objects.filter(slug=slug).first()
    if template is None:
        raise ApplicationError(
            f"Unknown device template '{slug}'.", {"template": [f"Unknown device template: {slug}."]}
        )
    return template


def _next_device_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [Device._meta.db_table])
        return cursor.fetchone()[0]


def _advance_device_id_sequence(device_id: int) -> None:
    """After an explicit serial number, keep the sequence above it so later devices never collide."""
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Device._meta.db_table)
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(%s, (SELECT MAX(id) FROM {table})))",
            [Device._meta.db_table, device_id],
        )


@transaction.atomic
def device_create(
    *,
    created_by,
    id: int | None = None,
    label: str = "",
    sg: str | None = None,
    template: str | None = None,
    external_id: str = "",
) -> Device:
    """A new, unclaimed device (staff only). ``id`` is its serial number; without one it gets the next free id."""
    if not user_has_org_permission(created_by, None, permission_for(Device, "add")):
        raise PermissionDeniedError("Only staff may create devices.")
    if id is not None:
        try:
            device_slug(id)
        except SlugError as exc:
            raise ApplicationError(str(exc), {"id": [str(exc)]}) from exc
        if id <= 0:
            raise ApplicationError("A device id must be positive.", {"id": ["Must be positive."]})
        if Device.objects.filter(id=id).exists():
            raise ApplicationError(f"Device {device_slug(id)} already exists.", {"id": ["This id is taken."]})
    device = Device(
        id=id,
        label=label,
        sg=_sensor_graph(sg),
        template=_template(template),
        external_id=external_id,
        created_by=created_by,
    )
    if id is None:
        # Skip ids given explicitly earlier, in case the sequence lags behind them.
        device.id = _next_device_id()
        while Device.objects.filter(id=device.id).exists():
            device.id = _next_device_id()
    device.slug = device_slug(device.id)
    device.full_clean()
    device.save(force_insert=True)
    if id is not None:
        _advance_device_id_sequence(id)
    return device


@transaction.atomic
def device_update(*, device: Device, user, staff_mode: bool = False, **fields: Any) -> Device:
    """Edit a device. Changing its template is a staff operation, asked for with ``staff_mode`` (``?staff=1``)."""
    if "template" in fields:
        if not user.is_staff:
            raise PermissionDeniedError("Only staff may change a device's template.")
        if not staff_mode:
            raise ApplicationError(
                "Changing the template is a staff operation: add ?staff=1.", {"template": ["Requires ?staff=1."]}
            )
        device.template = _template(fields.pop("template"))
    if "sg" in fields:
        device.sg = _sensor_graph(fields.pop("sg"))
    for key, value in fields.items():
        if key in EDITABLE_FIELDS:
            setattr(device, key, value)
    device.full_clean()
    device.save()
    return device


def device_delete(*, device: Device) -> None:
    """Delete a device with its streams and their data."""
    with transaction.atomic():
        streams_delete(streams=StreamId.objects.filter(device=device))
        device.delete()


# Claiming ---------------------------------------------------------------------------------------------------------


def device_claimable(*, slugs: list[Any]) -> list[dict[str, Any]]:
    """Whether each device could be claimed: it exists, is active and belongs to no project. One query."""
    if len(slugs) > MAX_CLAIMABLE_SLUGS:
        raise ApplicationError(f"At most {MAX_CLAIMABLE_SLUGS} slugs at a time.", {"slugs": ["Too many."]})
    parsed: list[tuple[str, int | None]] = []
    for value in slugs:
        try:
            device_id = device_id_from(value)
            parsed.append((device_slug(device_id), device_id))
        except (SlugError, TypeError):
            parsed.append((str(value), None))
    free = set(
        Device.objects.filter(
            id__in=[device_id for _, device_id in parsed if device_id is not None],
            project__isnull=True,
            active=True,
        ).values_list("id", flat=True)
    )
    return [{"slug": slug, "claimable": device_id in free} for slug, device_id in parsed]


def _created_streams_for_claimed_device(*, device: Device, user) -> list[StreamId]:
    """The streams a device gets when it joins a project.

    Until sensor graphs carry variable templates, a claimed device gets one stream per variable its new project
    already has. When they arrive, this is where the sensor graph's variables are created and used instead.
    """
    variables = StreamVariable.objects.filter(project_id=device.project_id)
    return device_streams_create(device=device, variables=variables, created_by=user)


@transaction.atomic
def device_claim(*, user, device: str | int, project) -> Device:
    """Claim the unclaimed device named ``device`` into ``project`` (a project ``user`` can see).

    Needs the claim permission in the project's organisation. A device that does not exist, is claimed already or
    is busy gets the same 400, so other organisations' devices are not revealed.
    """
    if not user_has_org_permission(user, project.org, permission_for(Device, "claim")):
        raise PermissionDeniedError("You may not claim devices in this organisation.")
    try:
        device_id = device_id_from(device)
    except SlugError as exc:
        raise ApplicationError(str(exc), {"device": [str(exc)]}) from exc
    target = Device.objects.select_for_update().filter(id=device_id).first()
    if target is None or target.project_id is not None or target.busy or not target.active:
        raise ApplicationError(
            f"Device {device_slug(device_id)} is not available to claim.",
            {"device": ["Unknown device, or claimed already."]},
        )
    target.project = project
    target.org_id = project.org_id
    target.claimed_by = user
    target.claimed_on = timezone.now()
    target.state = DeviceState.ACTIVE
    target.save(update_fields=["project", "org", "claimed_by", "claimed_on", "state"])
    _created_streams_for_claimed_device(device=target, user=user)
    return target


def device_unclaim(*, device: Device, label: str | None = None, clean_streams: bool = False) -> int:
    """Release a device from its project and organisation.

    With ``clean_streams`` its streams in that project are deleted with all their data rows (returns how many rows
    went); otherwise the streams and data stay with the organisation.
    """
    if device.busy:
        raise ApplicationError("The device is busy; try again when it has finished.")
    with transaction.atomic():
        deleted = 0
        if clean_streams:
            # Archived streams (data blocks) stay: they belong to the organisation, not the device.
            deleted = streams_delete(streams=StreamId.objects.filter(device=device, block__isnull=True))
        device.project = None
        device.org = None
        device.claimed_by = None
        device.claimed_on = None
        if label is not None:
            device.label = label
        device.save(update_fields=["project", "org", "claimed_by", "claimed_on", "label"])
    return deleted
