from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.testing import make_member
from server.apps.device.tests.factories import (
    add_data,
    make_device,
    make_project,
    make_staff,
    make_stream,
    make_variable,
)
from server.apps.org.roles import OWNER
from server.apps.stream.models import MdoType, StreamId
from server.apps.stream.services import (
    stream_create,
    stream_update,
    streams_delete,
    variable_create,
    variable_update,
)
from server.apps.streamdata.models import StreamData


def test_variable_local_ids_are_unique_per_project(db):
    project = make_project()
    make_variable(project, lid=0x5001)
    with pytest.raises(ApplicationError):
        make_variable(project, lid=0x5001)
    make_variable(make_project(project.org), lid=0x5001)


def test_creating_streams_needs_can_create_stream_ids(db):
    project = make_project()
    variable = make_variable(project)
    device = make_device(project)
    owner = make_member(project.org, OWNER)
    with pytest.raises(PermissionDeniedError):
        stream_create(user=owner, variable=variable, device=device)
    with pytest.raises(PermissionDeniedError):
        variable_create(user=make_member(make_project().org, OWNER), project=project, lid=1, name="x")


def test_project_level_stream_has_device_zero(db):
    project = make_project()
    stream = stream_create(user=make_staff(), variable=make_variable(project, lid=0x5100))
    assert stream.slug == f"s--{project.slug[3:]}--0000-0000-0000-0000--5100"


def test_streams_delete_removes_their_rows_only(db):
    project = make_project()
    device = make_device(project)
    first, second = make_stream(device, lid=1), make_stream(device, lid=2)
    add_data(first, 3)
    add_data(second, 4)
    assert streams_delete(streams=StreamId.objects.filter(pk=first.pk)) == 3
    assert not StreamData.objects.filter(series=first.series).exists()
    assert StreamData.objects.filter(series=second.series).count() == 4


def test_scaling_follows_the_mdo_type(db):
    project = make_project()
    variable = make_variable(project, multiplication_factor=10, division_factor=1, offset=0)
    stream = make_stream(make_device(project), variable=variable)
    assert stream.raw_to_value(2) == 20
    stream_update(stream=stream, multiplication_factor=3, mdo_type=MdoType.STREAM)
    assert stream.raw_to_value(2) == 6
    stream_update(stream=stream, mdo_type=MdoType.VARIABLE)
    assert stream.raw_to_value(2) == 20
    assert stream.output_value(None) is None


@pytest.mark.parametrize("raw_value_format", ["<Q", "zzz"])
def test_the_model_refuses_a_raw_value_format_ingest_cannot_read(db, raw_value_format):
    project = make_project()
    stream = make_stream(make_device(project))
    with pytest.raises(ValidationError) as refused:
        stream_update(stream=StreamId.objects.get(pk=stream.pk), raw_value_format=raw_value_format)
    assert list(refused.value.message_dict) == ["raw_value_format"]
    with pytest.raises(ValidationError):
        variable_update(variable=stream.variable, raw_value_format=raw_value_format)
    with pytest.raises(ValidationError):
        make_variable(project, lid=0x5002, raw_value_format=raw_value_format)
    stream.refresh_from_db()
    stream.variable.refresh_from_db()
    assert (stream.raw_value_format, stream.variable.raw_value_format) == ("<L", "<L")
    assert not project.variables.filter(lid=0x5002).exists()
