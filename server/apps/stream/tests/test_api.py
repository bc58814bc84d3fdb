from __future__ import annotations

import itertools

import pytest

from server.apps.core.slugs import block_slug, variable_slug
from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_member, make_org
from server.apps.datablock.models import DataBlock
from server.apps.device.models import Device
from server.apps.device.tests.factories import make_device, make_project, make_stream, make_variable
from server.apps.org.roles import DEVELOPER, MEMBER, OPERATOR, OWNER
from server.apps.project.models import Project
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.stream.values import RAW_VALUE_FORMATS
from server.apps.vartype.models import VarType, VarTypeOutputUnit

VARIABLES = "/api/v1/variable/"
STREAMS = "/api/v1/stream/"


_local_ids = itertools.count(0x6000)


class TestVariableEndpoint(ScopedEndpointCases):
    list_url = VARIABLES
    list_key = "slug"
    list_query_count = 3
    allowed_role = MEMBER
    denied_role = OPERATOR
    stored_as = {"project": "project.slug", "lid": lambda variable: f"{variable.lid:04x}"}

    def make_object(self, org):
        return make_variable(make_project(org))

    def detail_url(self, obj) -> str:
        return f"{VARIABLES}{obj.slug}/"

    def write_data(self, obj) -> dict:
        return {"name": "Renamed", "units": "L", "multiplication_factor": 3, "decimal_places": 1, "app_only": True}

    def create_data(self, org) -> dict:
        project = Project.objects.filter(org=org).first()
        lid = f"{next(_local_ids):04x}"
        return {"project": project.slug, "lid": lid, "name": "Created", "about": "Level", "offset": 1.5}


class TestStreamEndpoint(ScopedEndpointCases):
    list_url = STREAMS
    list_key = "slug"
    list_query_count = 3
    allowed_role = MEMBER
    denied_role = OPERATOR
    create_role = DEVELOPER
    create_denied_role = OWNER
    stored_as = {"variable": "variable.slug", "device": "device.slug"}

    def make_object(self, org):
        return make_stream(make_device(make_project(org)))

    def detail_url(self, obj) -> str:
        return f"{STREAMS}{obj.slug}/"

    def write_data(self, obj) -> dict:
        return {"data_label": "Flow", "multiplication_factor": 2, "division_factor": 10, "offset": -0.5}

    def create_data(self, org) -> dict:
        device = Device.objects.filter(org=org).first()
        variable = make_variable(device.project, lid=next(_local_ids))
        return {"variable": variable.slug, "device": device.slug, "data_label": "Level", "enabled": False}


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def owner(project):
    return project.org.created_by


# Variables --------------------------------------------------------------------------------------------------------


def test_create_variable_with_a_hex_or_integer_local_id(project, owner):
    VarType.objects.create(name="Water volume", slug="water-volume")
    client = api_client(owner)
    body = {"project": project.slug, "lid": "5001", "name": "Flow", "units": "L", "var_type": "water-volume"}
    response = client.post(VARIABLES, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["slug"] == variable_slug(project.gid, 0x5001) == f"v--{project.slug[3:]}--5001"
    assert (created["lid"], created["lid_hex"], created["var_type"]) == (0x5001, "5001", "water-volume")
    assert created["project"] == str(project.id)

    response = client.post(VARIABLES, {"project": str(project.id), "lid": 0x5002, "name": "Temp"}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"].endswith("--5002")

    duplicate = client.post(VARIABLES, {"project": project.slug, "lid": "5001", "name": "Again"}, format="json")
    assert duplicate.status_code == 400
    assert client.post(VARIABLES, {**body, "lid": "5003", "var_type": "nope"}, format="json").status_code == 400
    assert client.post(VARIABLES, {**body, "lid": "xyz"}, format="json").status_code == 400
    assert client.post(VARIABLES, {**body, "lid": 0x10000}, format="json").status_code == 400
    assert client.post(VARIABLES, {**body, "lid": "5004", "division_factor": 0}, format="json").status_code == 400
    assert StreamVariable.objects.filter(project=project).count() == 2


@pytest.mark.parametrize(
    "lid", ["\u0667\u0667\u0667\u0661", "\uff17\uff17\uff17\uff12", "7_773", "+5001", " 5001", "0x0x5"]
)
def test_a_local_id_not_in_ascii_hex_digits_is_a_400_that_creates_nothing(project, owner, lid):
    """int(text, 16) read other scripts' digits and underscores: Arabic-Indic 7771 made v--…--7771."""
    response = api_client(owner).post(VARIABLES, {"project": project.slug, "lid": lid, "name": "x"}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["lid"]
    assert not StreamVariable.objects.exists()


def test_a_local_id_in_ascii_hex_digits_is_read_in_either_case_with_or_without_0x(project, owner):
    client = api_client(owner)
    for lid, expected in (("5a01", 0x5A01), ("5A02", 0x5A02), ("0x5a03", 0x5A03), ("0X5A04", 0x5A04), (0x5A05, 0x5A05)):
        response = client.post(VARIABLES, {"project": project.slug, "lid": lid, "name": "x"}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["lid"] == expected
    assert StreamVariable.objects.filter(project=project).count() == 5


def test_create_variable_permissions(project):
    body = {"project": project.slug, "lid": "5001", "name": "Flow"}
    operator = api_client(make_member(project.org, OPERATOR))
    assert operator.post(VARIABLES, body, format="json").status_code == 403
    outsider = api_client(make_org().created_by)
    assert outsider.post(VARIABLES, body, format="json").status_code == 404
    assert not StreamVariable.objects.exists()


def test_variable_filters_and_lenient_lookup(project, owner):
    variable = make_variable(project, lid=0x5001)
    other = make_variable(make_project(project.org), lid=0x5001)
    client = api_client(owner)
    for value in (project.slug, str(project.id)):
        rows = client.get(VARIABLES, {"project": value}).json()["results"]
        assert [row["slug"] for row in rows] == [variable.slug]
    assert client.get(VARIABLES, {"org": project.org.slug}).json()["count"] == 2
    short = f"v--{project.gid:x}--5001"
    assert client.get(f"{VARIABLES}{short}/").json()["slug"] == variable.slug
    assert other.slug != variable.slug


def test_variable_delete_removes_its_streams(project, owner):
    stream = make_stream(make_device(project))
    response = api_client(owner).delete(f"{VARIABLES}{stream.variable.slug}/")
    assert response.status_code == 204
    assert not StreamId.objects.filter(pk=stream.pk).exists()


def test_variable_list_query_count_is_constant(project, owner):
    client = api_client(owner)
    make_variable(project, lid=1)
    with assert_query_count(3):
        client.get(VARIABLES)
    for lid in range(2, 8):
        make_variable(project, lid=lid)
    with assert_query_count(3):
        assert client.get(VARIABLES).json()["count"] == 7


# Streams ----------------------------------------------------------------------------------------------------------


def test_stream_fields(project, owner):
    var_type = VarType.objects.create(name="Water volume", slug="water-volume", storage_units_full="Liters")
    unit = VarTypeOutputUnit.objects.create(
        var_type=var_type, unit_full="Gallons", unit_short="gal", slug="out--water-volume--gallons", m=1, d=4
    )
    device = make_device(project)
    stream = make_stream(device, var_type="water-volume", output_unit=unit.slug, data_label="Flow")
    body = api_client(owner).get(f"{STREAMS}{stream.slug}/").json()
    assert body["slug"] == stream.slug
    assert body["device"] == device.slug
    assert body["project"] == str(project.id)
    assert body["project_slug"] == project.slug
    assert body["variable"] == stream.variable.slug
    assert body["var_type"] == "water-volume"
    assert body["var_lid"] == 0x5001
    assert body["data_label"] == "Flow"
    assert body["input_unit"] is None
    assert body["output_unit"] == {
        "slug": unit.slug,
        "unit_full": "Gallons",
        "unit_short": "gal",
        "m": 1,
        "d": 4,
        "o": 0.0,
        "decimal_places": 2,
        "derived_units": {},
    }
    plain = make_stream(device, lid=0x5002)
    body = api_client(owner).get(f"{STREAMS}{plain.slug}/").json()
    assert "var_type" in body
    assert body["var_type"] is None


def test_create_stream(project):
    device = make_device(project)
    variable = make_variable(project, lid=0x5010)
    # Claiming happened before the variable existed, so the device has no stream of it yet.
    body = {"variable": variable.slug, "device": device.slug, "data_label": "Pressure"}
    owner = api_client(project.org.created_by)
    assert owner.post(STREAMS, body, format="json").status_code == 403
    developer = api_client(make_member(project.org, DEVELOPER))
    response = developer.post(STREAMS, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == f"s--{project.slug[3:]}--{device.slug[3:]}--5010"
    assert developer.post(STREAMS, body, format="json").status_code == 400
    foreign_device = make_device(make_project(project.org))
    wrong = developer.post(STREAMS, {**body, "device": foreign_device.slug}, format="json")
    assert wrong.status_code == 400
    unknown = developer.post(STREAMS, {**body, "variable": "v--0000-ffff--5010"}, format="json")
    assert unknown.status_code == 400


def test_stream_filters(project, owner):
    first, second = make_device(project), make_device(project)
    a = make_stream(first, lid=0x5001)
    b = make_stream(second, variable=a.variable)
    c = make_stream(first, lid=0x5002)
    c.enabled = False
    c.save()
    elsewhere = make_stream(make_device(make_project(project.org)))
    block = DataBlock.objects.create(
        slug=block_slug(first.id, 1), title="Trip 1", org=project.org, device=first, block=1
    )
    archived = StreamId.objects.create(
        slug=f"s--0000-0000--{block.slug[3:]}--5001", org=project.org, device=first, block=block, var_lid=0x5001
    )
    client = api_client(owner)

    def slugs(**params):
        response = client.get(STREAMS, params)
        assert response.status_code == 200, response.content
        return sorted(row["slug"] for row in response.json()["results"])

    assert slugs(project=project.slug) == sorted([a.slug, b.slug, c.slug])
    assert slugs(project=str(project.id)) == sorted([a.slug, b.slug, c.slug])
    assert slugs(device=first.slug) == sorted([a.slug, c.slug])
    assert slugs(device=f"d--{first.id:x}") == sorted([a.slug, c.slug])
    assert slugs(device=block.slug) == [archived.slug]
    assert slugs(block=block.slug, all=1) == [archived.slug]
    assert slugs(variable=a.variable.slug) == sorted([a.slug, b.slug])
    assert slugs(enabled="false") == [c.slug]
    assert slugs(project=project.slug, all=1) == sorted([a.slug, b.slug, c.slug])
    assert elsewhere.slug in slugs(org=project.org.slug)
    assert client.get(STREAMS, {"device": "d--xyz"}).status_code == 400
    # A block by its integer id; digits other than 0-9 do not name one.
    assert slugs(block=str(block.id), all=1) == [archived.slug]
    assert client.get(STREAMS, {"block": "\u0661", "all": 1}).status_code == 400


def test_stream_list_query_count_is_constant(project, owner):
    var_type = VarType.objects.create(name="Temperature", slug="temperature")
    unit = VarTypeOutputUnit.objects.create(var_type=var_type, unit_full="Celsius", slug="out--temperature--c")
    client = api_client(owner)
    device = make_device(project)
    make_stream(device, lid=1, var_type="temperature", output_unit=unit.slug)
    with assert_query_count(3):
        client.get(STREAMS)
    for lid in range(2, 8):
        make_stream(device, lid=lid, var_type="temperature", output_unit=unit.slug)
    with assert_query_count(3):
        assert client.get(STREAMS, {"all": 1}).json()["count"] == 7


def test_stream_patch_and_delete(project):
    stream = make_stream(make_device(project))
    member = api_client(make_member(project.org, MEMBER))
    url = f"{STREAMS}{stream.slug}/"
    response = member.patch(url, {"enabled": False, "multiplication_factor": 2, "mdo_type": "S"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["enabled"] is False
    assert member.patch(url, {"division_factor": 0}, format="json").status_code == 400
    assert member.patch(url, {"output_unit": "nope"}, format="json").status_code == 400
    assert member.delete(url).status_code == 204
    assert not StreamId.objects.filter(pk=stream.pk).exists()


# Raw value formats ------------------------------------------------------------------------------------------------

UNREADABLE_FORMATS = ["<Q", "zzz", "<d", ">L", "L", "<L ", "", None]


@pytest.mark.parametrize("raw_value_format", UNREADABLE_FORMATS)
def test_a_raw_value_format_ingest_cannot_read_is_a_400_that_changes_nothing(project, owner, raw_value_format):
    """Only the formats stream/values.py reads a raw reading with (anything else was read as <L)."""
    variable = make_variable(project, lid=0x5001, raw_value_format="<h")
    stream = make_stream(make_device(project), variable=variable, raw_value_format="<b")
    client = api_client(owner)
    for url, other in ((f"{STREAMS}{stream.slug}/", "data_label"), (f"{VARIABLES}{variable.slug}/", "units")):
        response = client.patch(url, {"raw_value_format": raw_value_format, other: "L"}, format="json")
        assert response.status_code == 400, response.content
        assert list(response.json()) == ["raw_value_format"]
    body = {"project": project.slug, "lid": "5002", "name": "Flow", "raw_value_format": raw_value_format}
    response = client.post(VARIABLES, body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["raw_value_format"]
    stream.refresh_from_db()
    variable.refresh_from_db()
    assert (stream.raw_value_format, stream.data_label) == ("<b", "")
    assert (variable.raw_value_format, variable.units) == ("<h", "")
    assert list(StreamVariable.objects.filter(project=project).values_list("lid", flat=True)) == [0x5001]


def test_every_format_ingest_reads_is_stored(project, owner):
    stream = make_stream(make_device(project))
    client = api_client(owner)
    for lid, raw_value_format in enumerate(RAW_VALUE_FORMATS, 0x6001):
        response = client.patch(f"{STREAMS}{stream.slug}/", {"raw_value_format": raw_value_format}, format="json")
        assert (response.status_code, response.json()["raw_value_format"]) == (200, raw_value_format)
        body = {"project": project.slug, "lid": lid, "name": "Flow", "raw_value_format": raw_value_format}
        created = client.post(VARIABLES, body, format="json")
        assert (created.status_code, created.json()["raw_value_format"]) == (201, raw_value_format)
        response = client.patch(f"{VARIABLES}{created.json()['slug']}/", {"raw_value_format": "<L"}, format="json")
        assert (response.status_code, response.json()["raw_value_format"]) == (200, "<L")
        stream.refresh_from_db()
        assert stream.raw_value_format == raw_value_format
