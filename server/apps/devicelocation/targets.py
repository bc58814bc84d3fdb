"""Locations name the device or data block by its target slug: they follow a device into its data block and go when
the block is deleted."""

from __future__ import annotations

from server.apps.core.targets import MetadataType, register_metadata
from server.apps.devicelocation.models import DeviceLocation
from server.apps.devicelocation.services import device_locations_delete, device_locations_retarget

register_metadata(MetadataType(DeviceLocation, retarget=device_locations_retarget, delete=device_locations_delete))
