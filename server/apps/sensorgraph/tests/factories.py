"""Catalog entries for tests (made through the real services): a water-volume type with units and a sensor graph
whose variable templates use it."""

from __future__ import annotations

import itertools

from server.apps.device.tests.factories import make_staff
from server.apps.sensorgraph.models import SensorGraph
from server.apps.sensorgraph.services import sensorgraph_create, variable_template_create
from server.apps.vartype.models import VarType, VarTypeInputUnit, VarTypeOutputUnit
from server.apps.vartype.services import unit_slug, vartype_create

_sequence = itertools.count(1)


def make_water_type(name: str | None = None) -> VarType:
    """Stored in liters; reported in gallons or liters; shown in liters or gallons."""
    return vartype_create(
        created_by=make_staff(),
        name=name or f"Water Volume {next(_sequence)}",
        storage_units_full="Liters",
        storage_units_short="L",
        input_units=[
            {"unit_full": "Gallons", "unit_short": "gal", "m": 3785, "d": 1000},
            {"unit_full": "Liters", "unit_short": "L"},
        ],
        output_units=[
            {"unit_full": "Liters", "unit_short": "L", "decimal_places": 1},
            {"unit_full": "Gallons", "unit_short": "gal", "m": 1000, "d": 3785, "decimal_places": 2},
        ],
    )


def input_unit(var_type: VarType, name: str) -> VarTypeInputUnit:
    return VarTypeInputUnit.objects.get(slug=unit_slug("in", var_type.slug, name))


def output_unit(var_type: VarType, name: str) -> VarTypeOutputUnit:
    return VarTypeOutputUnit.objects.get(slug=unit_slug("out", var_type.slug, name))


def make_sensor_graph(name: str | None = None, app_tag: int = 1027, var_type: VarType | None = None) -> SensorGraph:
    """A water meter graph: 5001 pulses (no type), 5002 volume in hundredths of a gallon, shown in gallons."""
    staff = make_staff()
    var_type = var_type or make_water_type()
    sg = sensorgraph_create(created_by=staff, name=name or f"Water Meter {next(_sequence)}", app_tag=app_tag)
    variable_template_create(created_by=staff, sg=sg, lid=0x5001, label="Pulses")
    variable_template_create(
        created_by=staff,
        sg=sg,
        lid=0x5002,
        label="Volume",
        var_type=var_type,
        d=100,
        default_input_unit=input_unit(var_type, "Gallons"),
        default_output_unit=output_unit(var_type, "Gallons"),
    )
    return sg
