from __future__ import annotations

from rest_framework.test import APIClient

from server.apps.core.testing import api_client, assert_query_count, make_org, make_user
from server.apps.device.tests.factories import make_staff
from server.apps.sensorgraph.models import SensorGraph
from server.apps.sensorgraph.services import sensorgraph_create

URL = "/api/v1/sg/"


def test_any_authenticated_user_reads_sensor_graphs(db):
    sg = sensorgraph_create(
        created_by=make_staff(),
        name="Water Meter",
        major_version=1,
        minor_version=2,
        app_tag=1027,
        app_major_version=0,
        app_minor_version=4,
        ui_extra={"web": {"pageTemplateSlug": "water"}},
    )
    assert sg.slug == "water-meter--v1-2-0"
    client = api_client(make_user())
    body = client.get(f"{URL}{sg.slug}/").json()
    assert body["app_tag"] == 1027
    assert body["app_version"] == "0.4"
    assert body["version"] == "v1.2.0"
    for field in ("id", "name", "slug", "org", "active", "ui_extra", "report_processing_engine_ver"):
        assert field in body
    assert client.get(URL, {"app_tag": 1027}).json()["count"] == 1
    assert client.get(f"{URL}no-such-graph/").status_code == 404
    assert APIClient().get(URL).status_code == 401


def test_only_staff_write_sensor_graphs(db):
    body = {"name": "Trip", "major_version": 2, "app_tag": 2000}
    assert api_client(make_org().created_by).post(URL, body, format="json").status_code == 403
    staff = api_client(make_staff())
    response = staff.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "trip--v2-0-0"
    assert staff.post(URL, body, format="json").status_code == 400
    assert staff.patch(f"{URL}trip--v2-0-0/", {"active": False}, format="json").json()["active"] is False
    assert SensorGraph.objects.get(slug="trip--v2-0-0").created_by is not None


def test_list_query_count(db):
    client = api_client(make_user())
    staff = make_staff()
    sensorgraph_create(created_by=staff, name="One")
    with assert_query_count(3):
        client.get(URL)
    for index in range(5):
        sensorgraph_create(created_by=staff, name=f"More {index}")
    with assert_query_count(3):
        assert client.get(URL).json()["count"] == 6
