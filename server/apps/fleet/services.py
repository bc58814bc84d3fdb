"""Writes on fleets and their memberships. Each needs ``can_manage_ota`` in the fleet's organisation."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.slugs import fleet_slug
from server.apps.device.models import Device
from server.apps.fleet.models import Fleet, FleetMembership


def _check_manage(user, org) -> None:
    if not user_has_org_permission(user, org, permission_for(Fleet, "add")):
        raise PermissionDeniedError("You may not manage fleets in this organisation.")


def _next_fleet_id() -> int:
    # The slug is made from the id, so take the id first rather than saving twice.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [Fleet._meta.db_table])
        return cursor.fetchone()[0]


def _name_taken(org, name: str, exclude_pk: int | None = None) -> bool:
    clashes = Fleet.objects.filter(org=org, name=name)
    if exclude_pk is not None:
        clashes = clashes.exclude(pk=exclude_pk)
    return clashes.exists()


def _name_error(name: str) -> ConflictError:
    return ConflictError(
        f"The organisation already has a fleet named '{name}'.", {"name": ["A fleet with this name exists."]}
    )


@transaction.atomic
def fleet_create(*, user, org, name: str, description: str = "", is_network: bool = False) -> Fleet:
    _check_manage(user, org)
    if _name_taken(org, name):
        raise _name_error(name)
    fleet_id = _next_fleet_id()
    fleet = Fleet(
        id=fleet_id,
        slug=fleet_slug(fleet_id),
        name=name,
        description=description,
        org=org,
        is_network=is_network,
        created_by=user,
    )
    try:
        with transaction.atomic():
            fleet.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent fleet of the same name
        raise _name_error(name) from exc
    return fleet


@transaction.atomic
def fleet_update(
    *, fleet: Fleet, name: str | None = None, description: str | None = None, is_network: bool | None = None
) -> Fleet:
    if name is not None and name != fleet.name:
        if _name_taken(fleet.org, name, exclude_pk=fleet.pk):
            raise _name_error(name)
        fleet.name = name
    if description is not None:
        fleet.description = description
    if is_network is not None:
        fleet.is_network = is_network
    fleet.save(update_fields=["name", "description", "is_network"])
    return fleet


def fleet_delete(*, fleet: Fleet) -> None:
    """Delete the fleet and its memberships; the devices stay. A fleet that deployments went to is kept for their
    record (409)."""
    if fleet.deployments.exists():
        raise ConflictError("Software updates were deployed to this fleet; it is kept for their record.")
    fleet.delete()


def fleet_device_register(
    *, user, fleet: Fleet, device: Device, is_access_point: bool = False, always_on: bool = False
) -> FleetMembership:
    """Add ``device`` to ``fleet`` or, when it is a member already, set its flags. The device must belong to the
    fleet's organisation."""
    _check_manage(user, fleet.org)
    if device.org_id != fleet.org_id:
        raise ApplicationError(
            f"Device {device.slug} does not belong to the fleet's organisation.",
            {"device": ["Not in the fleet's organisation."]},
        )
    membership, _created = FleetMembership.objects.update_or_create(
        fleet=fleet,
        device=device,
        defaults={"is_access_point": is_access_point, "always_on": always_on},
        create_defaults={"is_access_point": is_access_point, "always_on": always_on, "created_by": user},
    )
    return membership


def fleet_device_deregister(*, user, fleet: Fleet, device: Device) -> bool:
    """Take ``device`` out of ``fleet``; False when it was not a member."""
    _check_manage(user, fleet.org)
    deleted, _by_model = FleetMembership.objects.filter(fleet=fleet, device=device).delete()
    return deleted > 0
