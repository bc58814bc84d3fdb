from __future__ import annotations

from rest_framework.test import APIClient

from server.apps.core.testing import api_client, assert_query_count, make_org, make_user
from server.apps.device.tests.factories import make_staff
from server.apps.vartype.models import VarType, VarTypeInputUnit, VarTypeOutputUnit
from server.apps.vartype.services import vartype_create

URL = "/api/v1/vartype/"


def _water(index: int = 0):
    var_type = vartype_create(created_by=make_staff(), name=f"Water Volume {index}", storage_units_full="Liters")
    VarTypeInputUnit.objects.create(
        var_type=var_type, unit_full="Gallons", unit_short="g", slug=f"in--{var_type.slug}--gallons", m=3785, d=1000
    )
    VarTypeOutputUnit.objects.create(
        var_type=var_type, unit_full="Liters", unit_short="L", slug=f"out--{var_type.slug}--liters", decimal_places=1
    )
    return var_type


def test_any_authenticated_user_reads_variable_types_with_their_units(db):
    var_type = _water()
    client = api_client(make_user())
    body = client.get(f"{URL}{var_type.slug}/").json()
    assert body["slug"] == "water-volume-0"
    assert body["storage_units_full"] == "Liters"
    assert body["stream_data_type"] == "D0"
    assert body["available_input_units"] == [
        {
            "slug": "in--water-volume-0--gallons",
            "unit_full": "Gallons",
            "unit_short": "g",
            "m": 3785,
            "d": 1000,
            "o": 0.0,
        }
    ]
    assert body["available_output_units"][0]["decimal_places"] == 1
    assert APIClient().get(URL).status_code == 401


def test_list_prefetches_units(db):
    client = api_client(make_user())
    _water(0)
    with assert_query_count(5):
        client.get(URL)
    for index in range(1, 5):
        _water(index)
    with assert_query_count(5):
        assert client.get(URL).json()["count"] == 5


def test_only_staff_write_variable_types(db):
    body = {"name": "Pressure", "storage_units_full": "Pa"}
    assert api_client(make_org().created_by).post(URL, body, format="json").status_code == 403
    response = api_client(make_staff()).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "pressure"


def test_staff_create_a_type_with_its_units_and_add_more_later(db):
    staff = api_client(make_staff())
    body = {
        "name": "Temperature",
        "storage_units_full": "Celsius",
        "storage_units_short": "C",
        "available_input_units": [{"unit_full": "Fahrenheit", "unit_short": "F", "m": 5, "d": 9, "o": -17.5}],
        "available_output_units": [{"unit_full": "Celsius", "unit_short": "C", "decimal_places": 1}],
    }
    response = staff.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["available_input_units"][0]["slug"] == "in--temperature--fahrenheit"
    assert created["available_output_units"][0]["slug"] == "out--temperature--celsius"
    more = {"available_output_units": [{"unit_full": "Kelvin", "o": 273.15}]}
    body = staff.patch(f"{URL}temperature/", more, format="json").json()
    slugs = [unit["slug"] for unit in body["available_output_units"]]
    assert slugs == ["out--temperature--celsius", "out--temperature--kelvin"]
    assert body["storage_units_short"] == "C"


def test_bad_unit_is_400_and_creates_nothing(db):
    body = {"name": "Pressure", "available_input_units": [{"unit_full": "Pa", "d": 0}]}
    response = api_client(make_staff()).post(URL, body, format="json")
    assert response.status_code == 400
    assert "available_input_units" in response.json()
    assert not VarType.objects.filter(name="Pressure").exists()


def test_members_and_anonymous_may_not_write_units(db):
    var_type = _water()
    body = {"available_output_units": [{"unit_full": "Barrels"}]}
    assert api_client(make_org().created_by).patch(f"{URL}{var_type.slug}/", body, format="json").status_code == 403
    assert APIClient().patch(f"{URL}{var_type.slug}/", body, format="json").status_code == 401
    assert api_client(make_user()).delete(f"{URL}{var_type.slug}/").status_code == 403
    assert VarTypeOutputUnit.objects.filter(var_type=var_type).count() == 1
