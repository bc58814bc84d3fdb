from __future__ import annotations

from rest_framework.test import APIClient

from server.apps.core.testing import api_client, assert_query_count, make_member, make_org, make_user
from server.apps.device.tests.factories import make_device, make_project, make_staff
from server.apps.org.roles import MEMBER
from server.apps.sensorgraph.models import SensorGraph
from server.apps.sensorgraph.services import sensorgraph_create
from server.apps.sensorgraph.tests.factories import make_sensor_graph, make_water_type, output_unit

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
    with assert_query_count(4):
        client.get(URL)
    for index in range(5):
        sensorgraph_create(created_by=staff, name=f"More {index}")
    with assert_query_count(4):
        assert client.get(URL).json()["count"] == 6


TEMPLATES = "/api/v1/vartemplate/"


def test_a_sensor_graph_lists_its_variable_templates(db):
    sg = make_sensor_graph(app_tag=1030)
    body = api_client(make_user()).get(f"{URL}{sg.slug}/").json()
    assert [t["lid_hex"] for t in body["variable_templates"]] == ["5001", "5002"]
    volume = body["variable_templates"][1]
    assert volume["label"] == "Volume"
    assert (volume["m"], volume["d"], volume["o"], volume["ctype"]) == (1, 100, 0.0, "unsigned int")
    water = volume["var_type"]
    assert volume["default_input_unit"] == f"in--{water}--gallons"
    assert volume["default_output_unit"] == f"out--{water}--gallons"
    assert (volume["sg"], volume["app_only"], volume["web_only"]) == (sg.slug, False, False)


def test_staff_write_variable_templates(db):
    sg = make_sensor_graph()
    water = make_water_type()
    staff = api_client(make_staff())
    body = {
        "sg": sg.slug,
        "lid_hex": "5a07",
        "label": "Flow",
        "var_type": water.slug,
        "ctype": "float",
        "default_output_unit": f"out--{water.slug}--liters",
    }
    response = staff.post(TEMPLATES, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["lid_hex"], created["default_input_unit"]) == ("5a07", None)
    assert staff.post(TEMPLATES, body, format="json").status_code == 400
    for lid_hex in ("\u0665a09", "5_a09", "+5a09"):
        refused = staff.post(TEMPLATES, {**body, "lid_hex": lid_hex}, format="json")
        assert (refused.status_code, list(refused.json())) == (400, ["lid_hex"])
    other_unit = {**body, "lid_hex": "5a08", "default_output_unit": output_unit(make_water_type(), "Liters").slug}
    assert staff.post(TEMPLATES, other_unit, format="json").status_code == 400
    response = staff.patch(f"{TEMPLATES}{created['id']}/", {"label": "Flow rate", "d": 10}, format="json")
    assert (response.json()["label"], response.json()["d"]) == ("Flow rate", 10)
    assert staff.patch(f"{TEMPLATES}{created['id']}/", {"d": 0}, format="json").status_code == 400
    listed = api_client(make_user()).get(TEMPLATES, {"sg": sg.slug}).json()
    assert [row["lid_hex"] for row in listed["results"]] == ["5001", "5002", "5a07"]


def test_members_and_anonymous_may_not_write_variable_templates(db):
    sg = make_sensor_graph()
    template = sg.variable_templates.first()
    body = {"sg": sg.slug, "lid_hex": "5003", "label": "X"}
    member = api_client(make_org().created_by)
    assert member.post(TEMPLATES, body, format="json").status_code == 403
    assert member.patch(f"{TEMPLATES}{template.pk}/", {"label": "Y"}, format="json").status_code == 403
    assert member.delete(f"{TEMPLATES}{template.pk}/").status_code == 403
    assert APIClient().post(TEMPLATES, body, format="json").status_code == 401
    assert APIClient().get(TEMPLATES).status_code == 401
    assert sg.variable_templates.count() == 2


def test_patching_a_claimed_device_s_sensor_graph_adds_its_streams(db):
    project = make_project()
    device = make_device(project)
    sg = make_sensor_graph()
    member = api_client(make_member(project.org, MEMBER))
    response = member.patch(f"/api/v1/device/{device.slug}/", {"sg": sg.slug}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["sg"] == sg.slug
    streams = api_client(project.org.created_by).get("/api/v1/stream/", {"device": device.slug}).json()["results"]
    assert [(s["var_lid"], s["output_unit"] and s["output_unit"]["unit_full"]) for s in streams] == [
        (0x5001, None),
        (0x5002, "Gallons"),
    ]


def test_a_null_ui_extra_from_a_form_is_400_and_changes_nothing(db):
    # A form sends JSON as text: "null" must be refused like a JSON null, not reach the not-null column.
    staff = api_client(make_staff())
    sg = make_sensor_graph()
    response = staff.post(URL, {"name": "Formed", "ui_extra": "null"}, format="multipart")
    assert response.status_code == 400, response.content
    assert "ui_extra" in response.json()
    for method in ("put", "patch"):
        response = getattr(staff, method)(f"{URL}{sg.slug}/", {"name": sg.name, "ui_extra": "null"}, format="multipart")
        assert response.status_code == 400, response.content
    response = staff.patch(f"{URL}{sg.slug}/", {"ui_extra": "[" * 1000 + "]" * 1000}, format="multipart")
    assert response.status_code == 400, response.content
    assert not SensorGraph.objects.filter(name="Formed").exists()
    sg.refresh_from_db()
    assert sg.ui_extra == {}
    response = staff.patch(f"{URL}{sg.slug}/", {"ui_extra": '{"web": 1}'}, format="multipart")
    assert response.status_code == 200, response.content
    sg.refresh_from_db()
    assert sg.ui_extra == {"web": 1}
