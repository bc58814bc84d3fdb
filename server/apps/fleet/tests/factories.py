"""Fleets for the tests, made through the real services."""

from __future__ import annotations

from server.apps.core.testing import make_member
from server.apps.fleet.services import fleet_create, fleet_device_register
from server.apps.org.roles import DEVELOPER


def ota_manager(org):
    """A member who may manage fleets and updates (the developer role)."""
    return make_member(org, DEVELOPER)


def make_fleet(org, name: str | None = None, *, is_network: bool = False, devices=(), user=None):
    """A fleet of ``devices``: each a device, or ``(device, is_access_point, always_on)``."""
    user = user or ota_manager(org)
    fleet = fleet_create(user=user, org=org, name=name or f"Fleet {org.fleets.count() + 1}", is_network=is_network)
    for entry in devices:
        device, access_point, always_on = entry if isinstance(entry, tuple) else (entry, False, False)
        fleet_device_register(user=user, fleet=fleet, device=device, is_access_point=access_point, always_on=always_on)
    return fleet
