from __future__ import annotations

import pytest

from server.apps.core.errors import ApplicationError
from server.apps.device.tests.factories import make_staff
from server.apps.vartype.models import VarType, VarTypeInputUnit, VarTypeOutputUnit
from server.apps.vartype.services import unit_slug, vartype_create, vartype_unit_set, vartype_update


def test_units_get_slugs_from_their_type_and_name(db):
    var_type = vartype_create(
        created_by=make_staff(),
        name="Water Volume",
        input_units=[{"unit_full": "US Gallons", "m": 3785, "d": 1000}],
        output_units=[{"unit_full": "Liters", "decimal_places": 1, "derived_units": {"l/min": {"m": 1, "d": 60}}}],
    )
    assert unit_slug("in", "water-volume", "US Gallons") == "in--water-volume--us-gallons"
    gallons = VarTypeInputUnit.objects.get(var_type=var_type)
    assert (gallons.slug, gallons.m, gallons.d, gallons.o) == ("in--water-volume--us-gallons", 3785, 1000, 0.0)
    liters = VarTypeOutputUnit.objects.get(var_type=var_type)
    assert (liters.slug, liters.decimal_places) == ("out--water-volume--liters", 1)
    assert liters.derived_units == {"l/min": {"m": 1, "d": 60}}


def test_setting_a_unit_again_updates_it_and_units_left_out_stay(db):
    var_type = vartype_create(created_by=make_staff(), name="Temperature", output_units=[{"unit_full": "Celsius"}])
    vartype_update(var_type=var_type, output_units=[{"unit_full": "Fahrenheit", "m": 9, "d": 5, "o": 32}])
    vartype_unit_set(var_type=var_type, direction="out", unit_full="Celsius", decimal_places=3)
    units = {u.slug: u for u in VarTypeOutputUnit.objects.filter(var_type=var_type)}
    assert set(units) == {"out--temperature--celsius", "out--temperature--fahrenheit"}
    assert units["out--temperature--celsius"].decimal_places == 3
    assert (units["out--temperature--fahrenheit"].m, units["out--temperature--fahrenheit"].o) == (9, 32.0)


@pytest.mark.parametrize("unit", [{"unit_full": "Broken", "d": 0}, {"unit_full": "--"}])
def test_bad_units_are_rejected_and_nothing_is_created(db, unit):
    with pytest.raises(ApplicationError):
        vartype_create(created_by=make_staff(), name="Pressure", input_units=[unit])
    assert not VarType.objects.filter(name="Pressure").exists()
