"""Raw readings to stored values (format, MDO, input unit) and stored values to the output unit."""

from __future__ import annotations

import struct

import pytest

from server.apps.core.testing import assert_query_count
from server.apps.device.tests.factories import make_device, make_project, make_stream, make_variable
from server.apps.sensorgraph.tests.factories import input_unit, make_water_type, output_unit
from server.apps.stream.models import MdoType, StreamId
from server.apps.stream.values import output_value, output_values, value_from_raw, values_from_raw


@pytest.fixture
def device(db):
    return make_device(make_project())


def test_stream_mdo_then_input_unit_then_output_unit(device):
    water = make_water_type()
    stream = make_stream(device, multiplication_factor=1, division_factor=100, offset=0.0)
    stream.var_type = water
    stream.input_unit = input_unit(water, "Gallons")
    stream.output_unit = output_unit(water, "Gallons")
    # 1000 hundredths of a gallon is 10 gallons, stored as 37.85 liters and shown as 10 gallons again.
    assert values_from_raw(stream, [1000, 0, 200]) == pytest.approx([37.85, 0.0, 7.57])
    assert output_values(stream, [37.85, None]) == [pytest.approx(10.0), None]
    assert stream.raw_to_value(1000) == pytest.approx(37.85)
    assert stream.output_value(37.85) == pytest.approx(10.0)


def test_offset_applies_after_scaling(device):
    stream = make_stream(device, multiplication_factor=9, division_factor=5, offset=32.0)
    assert value_from_raw(stream, 100) == pytest.approx(212.0)
    assert output_value(stream, 5.5) == 5.5  # no output unit: unchanged


def test_variable_mdo_when_the_stream_says_so(device):
    variable = make_variable(device.project, lid=0x5003, multiplication_factor=2, division_factor=1, offset=1.0)
    stream = make_stream(device, variable, multiplication_factor=10, offset=0.0)
    assert value_from_raw(stream, 5) == 50.0
    stream.mdo_type = MdoType.VARIABLE
    assert value_from_raw(stream, 5) == 11.0


@pytest.mark.parametrize(
    ("raw_value_format", "raw", "expected"),
    [
        ("<L", 0xFFFFFFFF, 4294967295.0),
        ("<l", 0xFFFFFFFF, -1.0),
        ("<h", 0x0001FFFE, -2.0),
        ("<H", 0x0001FFFE, 65534.0),
        ("<f", struct.unpack("<L", struct.pack("<f", 21.5))[0], 21.5),
    ],
)
def test_raw_values_are_read_with_the_stream_format(device, raw_value_format, raw, expected):
    stream = make_stream(device, raw_value_format=raw_value_format)
    assert value_from_raw(stream, raw) == expected


def test_a_batch_converts_without_queries_once_the_stream_is_loaded(device):
    water = make_water_type()
    make_stream(device, input_unit=None)
    StreamId.objects.filter(device=device).update(
        var_type=water, input_unit=input_unit(water, "Gallons"), mdo_type=MdoType.VARIABLE
    )
    stream = StreamId.objects.select_related("variable", "input_unit", "output_unit").get(device=device)
    with assert_query_count(0):
        values = values_from_raw(stream, list(range(10_000)))
    assert values[1000] == pytest.approx(3785.0)
