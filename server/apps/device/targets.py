"""A device as a target: ``d--…`` in any lenient form."""

from __future__ import annotations

from typing import Any

from server.apps.core.lookups import device_id_from
from server.apps.core.targets import DEVICE, TargetType, register_target
from server.apps.device.models import Device


def _lookup(value: str) -> dict[str, Any]:
    return {"id": device_id_from(value)}


register_target(TargetType(DEVICE, Device, lookup=_lookup, related=("org", "project")))
