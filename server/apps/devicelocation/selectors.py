"""Reads on device locations, already scoped to a user."""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from server.apps.core.targets import Target, target_of
from server.apps.devicelocation.models import DeviceLocation
from server.apps.devicelocation.services import LOCATION_TARGET_KINDS


def device_location_list(*, user) -> QuerySet[DeviceLocation]:
    return DeviceLocation.objects.restrict(user, "view").select_related("created_by")


def locations_for(*, user, target: Target | models.Model | str) -> QuerySet[DeviceLocation]:
    """The recorded locations of a device or data block (an object, a :class:`Target` or a slug) that ``user`` may
    read, oldest first: none without ``can_read_device_locations``."""
    target = target_of(user=user, target=target, kinds=LOCATION_TARGET_KINDS)
    return device_location_list(user=user).filter(target=target.slug, org_id=target.org_id)
