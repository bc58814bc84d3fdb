"""A device with a deployment's worth of data, and blocks, for the data block tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from server.apps.core.slugs import block_slug, streamer_slug
from server.apps.datablock.models import ArchiveStatus, DataBlock
from server.apps.device.tests.factories import T0, add_data, make_device, make_project, make_variable
from server.apps.devicelocation.models import DeviceLocation
from server.apps.property.models import GenericProperty
from server.apps.stream.models import StreamId
from server.apps.streamer.models import Streamer
from server.apps.streamevent.models import StreamEventData
from server.apps.streamnote.models import StreamNote


def make_block(org, number: int = 1, **fields):
    device = make_device(make_project(org))
    return DataBlock.objects.create(
        slug=block_slug(device.id, number), title=f"Trip {number}", org=org, device=device, block=number, **fields
    )


@dataclass
class Deployment:
    device: object
    level: StreamId  # 0x5001, 30 readings
    temperature: StreamId  # 0x5002, 10 readings

    @property
    def rows(self) -> int:
        return 40


def make_deployment(project=None) -> Deployment:
    """A claimed device with two streams of data, two events, a note, a
    location, a property and a streamer that acknowledged id 40."""
    project = project or make_project()
    make_variable(project, lid=0x5001, name="Level")
    make_variable(project, lid=0x5002, name="Temperature")
    device = make_device(project, label="Trip 1")
    level = StreamId.objects.get(device=device, var_lid=0x5001)
    temperature = StreamId.objects.get(device=device, var_lid=0x5002)
    add_data(level, 30, first_id=1)
    add_data(temperature, 10, first_id=1)
    for i in range(2):
        StreamEventData.objects.create(
            series=level.series,
            org=project.org,
            timestamp=T0 + timedelta(hours=i),
            streamer_local_id=100 + i,
            extra_data={"peak": i},
        )
    StreamNote.objects.create(target=device.slug, target_kind="device", org=project.org, note="Installed")
    StreamNote.objects.create(target=level.slug, target_kind="stream", org=project.org, note="Recalibrated")
    DeviceLocation.objects.create(target=device.slug, target_kind="device", org=project.org, lat=1, lon=2)
    for name, value, is_system in (("site", "A", False), ("fw", "2", True)):
        GenericProperty.objects.create(
            target=device.slug, target_kind="device", org=project.org, name=name, str_value=value, is_system=is_system
        )
    Streamer.objects.create(slug=streamer_slug(device.id, 0), device=device, index=0, last_id=40)
    return Deployment(device=device, level=level, temperature=temperature)


def completed(block: DataBlock) -> DataBlock:
    DataBlock.objects.filter(pk=block.pk).update(status=ArchiveStatus.COMPLETED, progress=100)
    block.refresh_from_db()
    return block
