from __future__ import annotations

from rest_framework.test import APIClient

from server.apps.core.testing import api_client, assert_query_count, make_org, make_user
from server.apps.device.tests.factories import make_staff
from server.apps.vartype.models import VarTypeInputUnit, VarTypeOutputUnit
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
