"""Objects for the device, stream and data tests, made through the real services."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from server.apps.core.testing import make_org, make_user
from server.apps.device.services import device_claim, device_create
from server.apps.project.services import project_create
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.stream.services import stream_create, stream_update, variable_create
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_row

_sequence = itertools.count(1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_staff():
    return make_user(is_staff=True)


def make_project(org=None, name: str | None = None):
    org = org or make_org()
    return project_create(org=org, name=name or f"Project {next(_sequence)}", created_by=org.created_by)


def make_device(project=None, **fields):
    """A device, claimed into ``project`` when one is given."""
    device = device_create(created_by=make_staff(), **fields)
    if project is not None:
        device = device_claim(user=project.org.created_by, device=device.slug, project=project)
    return device


def make_variable(project, lid: int = 0x5001, **fields):
    fields.setdefault("name", f"Variable {lid:04x}")
    return variable_create(user=make_staff(), project=project, lid=lid, **fields)


def make_stream(device, variable=None, lid: int = 0x5001, **fields):
    """The device's stream of ``variable`` (made with local id ``lid`` when not given).

    Claiming already gives a device a stream per project variable; that stream is then updated and returned.
    """
    if variable is None:
        variable = StreamVariable.objects.filter(project=device.project, lid=lid).first()
        variable = variable or make_variable(device.project, lid=lid)
    existing = StreamId.objects.filter(device=device, variable=variable).first()
    if existing is not None:
        return stream_update(stream=existing, **fields) if fields else existing
    return stream_create(user=make_staff(), variable=variable, device=device, **fields)


def add_data(stream, count: int, start: datetime = T0, step: timedelta = timedelta(minutes=1), first_id: int = 1):
    """``count`` readings one ``step`` apart, values 0, 1, 2, … and streamer ids from ``first_id``."""
    rows = [
        stream_data_row(
            series=stream.series,
            timestamp=start + i * step,
            value=float(i),
            int_value=i,
            streamer_local_id=first_id + i if first_id else 0,
        )
        for i in range(count)
    ]
    return stream_data_bulk_insert(rows=rows)
