"""Raw readings to stored values (format, MDO, input unit), stored values to the output unit, and how a stream's
values are shown (label, units, decimal places)."""

from __future__ import annotations

import math
import struct

import pytest

from server.apps.core.testing import assert_query_count
from server.apps.device.tests.factories import make_device, make_project, make_stream, make_variable
from server.apps.sensorgraph.tests.factories import input_unit, make_water_type, output_unit
from server.apps.stream.models import MdoType, StreamId
from server.apps.stream.values import (
    RAW_VALUE_FORMAT_LABELS,
    RAW_VALUE_FORMATS,
    output_value,
    raw_value_converter,
    value_from_raw,
)


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
    convert = raw_value_converter(stream)
    assert [convert(raw) for raw in (1000, 0, 200)] == pytest.approx([37.85, 0.0, 7.57])
    assert [output_value(stream, value) for value in (37.85, None)] == [pytest.approx(10.0), None]
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
        convert = raw_value_converter(stream)
        values = list(map(convert, range(10_000)))
    assert values[1000] == pytest.approx(3785.0)


# Every format against struct reading the raw value's low bytes, over edge values, negative raw values included (a
# raw value posted to the data API is any bigint; a device's is 32 bits).
EDGE_RAWS = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x12345678, 0x3F800000, 0x7FFFFFFF]
EDGE_RAWS += [0x80000000, 0xC1A80000, 0xFFFFFFFE, 0xFFFFFFFF, -1, -2, -0x80, -0x8000, -0x80000000]


@pytest.mark.parametrize("raw_value_format", RAW_VALUE_FORMATS[1:])
def test_each_format_reads_what_struct_reads(device, raw_value_format):
    stream = make_stream(device, raw_value_format=raw_value_format)
    read = struct.Struct(raw_value_format)
    convert = raw_value_converter(stream)
    for raw in EDGE_RAWS:
        expected, value = read.unpack(struct.pack("<L", raw & 0xFFFFFFFF)[: read.size])[0], convert(raw)
        assert value == expected or (math.isnan(value) and math.isnan(expected)), hex(raw)


def test_every_format_read_is_labelled_for_the_schema_and_the_model():
    assert list(RAW_VALUE_FORMAT_LABELS) == list(RAW_VALUE_FORMATS)


def test_a_plain_stream_needs_no_conversion(device):
    stream = make_stream(device)
    assert raw_value_converter(stream) is None
    assert value_from_raw(stream, 0xFFFFFFFF) == 4294967295.0
    assert isinstance(value_from_raw(stream, 3), float)
    stream.offset = 0.5
    assert raw_value_converter(stream)(3) == 3.5


def test_display_label_units_and_decimals(device):
    water = make_water_type()
    variable = make_variable(device.project, lid=0x5006, name="Flow", units="gal/min", decimal_places=3)
    stream = make_stream(device, variable)
    assert (stream.display_label, stream.display_units, stream.display_decimal_places) == ("Flow", "gal/min", 3)
    stream.var_name = ""  # without a name of its own, the stream's values are called by its variable's
    assert stream.display_label == "Flow"
    stream.var_type, stream.output_unit = water, output_unit(water, "Gallons")
    stream.data_label = "Pump flow"
    assert (stream.display_label, stream.display_units, stream.display_decimal_places) == (
        "Pump flow",
        stream.output_unit.unit_short,
        stream.output_unit.decimal_places,
    )
    stream.variable, stream.output_unit, stream.var_name, stream.data_label = None, None, "", ""
    assert (stream.display_label, stream.display_units, stream.display_decimal_places) == (
        "Value",
        water.storage_units_short,
        2,
    )
