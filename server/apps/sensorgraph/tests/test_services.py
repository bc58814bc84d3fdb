"""Variable templates, and the variables and streams a device gets from its sensor graph."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from server.apps.core.errors import ApplicationError
from server.apps.core.testing import assert_query_count
from server.apps.device.services import device_claim, device_create, device_update
from server.apps.device.tests.factories import make_device, make_project, make_staff, make_variable
from server.apps.sensorgraph.services import (
    sensorgraph_create,
    sensorgraph_device_streams_create,
    variable_template_create,
)
from server.apps.sensorgraph.tests.factories import input_unit, make_sensor_graph, make_water_type, output_unit
from server.apps.stream.models import MdoType, StreamId, StreamVariable


def _claim(sg, project):
    device = device_create(created_by=make_staff(), sg=sg.slug)
    return device_claim(user=project.org.created_by, device=device.slug, project=project)


def test_claiming_makes_the_project_variables_and_device_streams_of_the_sensor_graph(db):
    sg = make_sensor_graph()
    project = make_project()
    device = _claim(sg, project)
    variables = {v.lid: v for v in StreamVariable.objects.filter(project=project)}
    assert sorted(variables) == [0x5001, 0x5002]
    volume = variables[0x5002]
    water = volume.var_type
    assert (volume.name, volume.division_factor, volume.units, volume.decimal_places) == ("Volume", 100, "gal", 2)
    assert volume.created_by == project.org.created_by
    streams = {s.var_lid: s for s in StreamId.objects.filter(device=device).select_related("input_unit")}
    assert sorted(streams) == [0x5001, 0x5002]
    stream = streams[0x5002]
    assert stream.slug == f"s--{project.slug[3:]}--{device.slug[3:]}--5002"
    assert (stream.var_type, stream.input_unit, stream.output_unit) == (
        water,
        input_unit(water, "Gallons"),
        output_unit(water, "Gallons"),
    )
    assert (stream.mdo_type, stream.multiplication_factor, stream.division_factor) == (MdoType.STREAM, 1, 100)
    assert stream.raw_to_value(1000) == pytest.approx(37.85)
    assert streams[0x5001].var_type is None


def test_a_second_device_shares_the_variables_and_existing_variables_are_kept(db):
    sg = make_sensor_graph()
    project = make_project()
    mine = make_variable(project, lid=0x5002, name="Tank level", division_factor=7)
    first = _claim(sg, project)
    second = _claim(sg, project)
    assert StreamVariable.objects.filter(project=project).count() == 2
    mine.refresh_from_db()
    assert (mine.name, mine.division_factor) == ("Tank level", 7)
    for device in (first, second):
        stream = StreamId.objects.get(device=device, variable=mine)
        # The stream scales as the sensor graph says, whatever the project's variable holds.
        assert (stream.division_factor, stream.output_unit.unit_full) == (100, "Gallons")


def test_a_device_without_a_sensor_graph_gets_a_stream_per_project_variable(db):
    project = make_project()
    make_variable(project, lid=0x5010)
    device = make_device(project)
    assert list(StreamId.objects.filter(device=device).values_list("var_lid", flat=True)) == [0x5010]


def test_giving_a_claimed_device_a_sensor_graph_adds_its_streams(db):
    project = make_project()
    device = make_device(project)
    other = make_sensor_graph()
    assert not StreamId.objects.filter(device=device).exists()
    device_update(device=device, user=project.org.created_by, sg=other.slug)
    assert sorted(StreamId.objects.filter(device=device).values_list("var_lid", flat=True)) == [0x5001, 0x5002]
    # Setting the same graph again, or none, adds and removes nothing.
    device_update(device=device, user=project.org.created_by, sg=other.slug)
    device_update(device=device, user=project.org.created_by, sg="")
    assert StreamId.objects.filter(device=device).count() == 2


def test_an_unclaimed_device_gets_no_streams_from_its_sensor_graph(db):
    device = device_create(created_by=make_staff())
    device_update(device=device, user=make_staff(), sg=make_sensor_graph().slug)
    assert not StreamId.objects.filter(device=device).exists()
    assert sensorgraph_device_streams_create(device=device, user=None) == []


def test_streams_from_a_sensor_graph_take_a_fixed_number_of_queries(db):
    staff = make_staff()
    water = make_water_type()
    sg = sensorgraph_create(created_by=staff, name="Many")
    for lid in range(0x5001, 0x5011):
        variable_template_create(
            created_by=staff, sg=sg, lid=lid, label=f"V{lid:x}", var_type=water, default_output_unit=None
        )
    project = make_project()
    device = device_create(created_by=staff, sg=sg.slug)
    device.project, device.org = project, project.org
    device.save()
    # Seven statements, each atomic block's savepoint and its release.
    with assert_query_count(11):
        created = sensorgraph_device_streams_create(device=device, user=staff)
    assert len(created) == 16


def test_template_units_must_belong_to_its_type_and_local_ids_are_unique(db):
    staff = make_staff()
    water, other = make_water_type(), make_water_type()
    sg = sensorgraph_create(created_by=staff, name="Checks")
    with pytest.raises(ValidationError):
        variable_template_create(
            created_by=staff,
            sg=sg,
            lid=0x5001,
            label="V",
            var_type=water,
            default_input_unit=input_unit(other, "Gallons"),
        )
    variable_template_create(created_by=staff, sg=sg, lid=0x5001, label="V")
    with pytest.raises(ApplicationError):
        variable_template_create(created_by=staff, sg=sg, lid=0x5001, label="Again")
