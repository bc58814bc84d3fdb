"""Searchable objects for the search tests, made through the services where the platform has them."""

from __future__ import annotations

import itertools

from server.apps.core import slugs
from server.apps.core.targets import target_for_object
from server.apps.datablock.models import DataBlock
from server.apps.device.models import Device
from server.apps.project.services import project_create
from server.apps.property.services import property_create

_serials = itertools.count(0x5EA000)


def add_device(org, *, label: str = "", external_id: str = "", serial: int | None = None, project=None) -> Device:
    # Straight to the model: search needs a device in an org, not the claim workflow.
    serial = serial if serial is not None else next(_serials)
    return Device.objects.create(
        id=serial, slug=slugs.device_slug(serial), label=label, external_id=external_id, org=org, project=project
    )


def add_project(org, name: str, about: str = ""):
    return project_create(org=org, name=name, about=about, created_by=org.created_by)


def add_block(org, device: Device, *, title: str, description: str = "", block: int = 1) -> DataBlock:
    return DataBlock.objects.create(
        slug=slugs.block_slug(device.id, block),
        title=title,
        description=description,
        org=org,
        device=device,
        block=block,
    )


def add_property(org, obj, *, name: str, value):
    return property_create(user=org.created_by, target=target_for_object(obj), name=name, value=value)
