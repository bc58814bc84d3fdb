from __future__ import annotations

import itertools

import pytest

from server.apps.core.targets import target_for_object
from server.apps.core.testing import (
    ScopedEndpointCases,
    TargetedEndpointCases,
    api_client,
    assert_query_count,
    make_member,
    make_org,
)
from server.apps.device.tests.factories import make_device, make_project
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR
from server.apps.property.models import GenericProperty, GenericPropertyOrgTemplate
from server.apps.property.services import PROPERTY_TARGET_KINDS, property_create, property_template_create

PROPERTIES = "/api/v1/property/"
TEMPLATES = "/api/v1/propertytemplate/"
_names = itertools.count(1)


class TestPropertyEndpoint(TargetedEndpointCases):
    endpoint = PROPERTIES
    created_model = GenericProperty
    target_kinds = PROPERTY_TARGET_KINDS
    list_query_count = 4  # authentication, the target, the count, the page
    allowed_role = MEMBER
    denied_role = None  # whoever reads properties (can_read_device_properties) may change them
    hidden_role = OPERATOR
    create_denied_role = OPERATOR

    def make_row(self, target_obj):
        count = GenericProperty.objects.filter(target=target_for_object(target_obj).slug).count()
        user = target_obj.org.created_by
        return property_create(user=user, target=target_for_object(target_obj), name=f"name-{count}", value=count)

    def row_data(self, target_obj) -> dict:
        return {"name": f"colour-{next(_names)}", "type": "str", "value": "blue", "is_system": True}

    def write_data(self, obj) -> dict:
        return {"value": 42, "name": "renamed"}


class TestPropertyTemplateEndpoint(ScopedEndpointCases):
    list_url = TEMPLATES
    list_key = "id"
    list_query_count = 4  # authentication, the count, the page, the enums
    allowed_role = ADMIN
    denied_role = MEMBER
    stored_as = {"org": "org.slug", "enums": lambda template: [enum.value for enum in template.enums.all()]}

    def make_object(self, org):
        count = GenericPropertyOrgTemplate.objects.filter(org=org).count()
        return property_template_create(user=org.created_by, org=org, name=f"t{count}", enums=["a", "b"])

    def list_params(self, obj) -> dict:
        return {"org": obj.org.slug}

    def detail_url(self, obj) -> str:
        return f"{TEMPLATES}{obj.id}/"

    def write_data(self, obj) -> dict:
        return {"enums": ["a", "b", "c"], "default": "a", "is_system": True}

    def create_data(self, org) -> dict:
        return {"org": org.slug, "name": "site", "type": "str", "default": "north", "enums": ["north", "south"]}


@pytest.fixture
def device(db):
    return make_device(make_project())


@pytest.fixture
def owner(device):
    return device.org.created_by


def test_typed_values_round_trip(owner, device):
    client = api_client(owner)
    for name, value, kind in (("floor", 3, "int"), ("indoor", True, "bool"), ("site", "Lab 2", "str")):
        response = client.post(PROPERTIES, {"target": device.slug, "name": name, "value": value}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["type"], body["value"]) == (kind, value)
        assert body["target"] == device.slug
        assert body["created_by"] == owner.username
        assert body["is_system"] is False
    rows = client.get(PROPERTIES, {"target": device.slug}).json()["results"]
    assert {row["name"]: row["value"] for row in rows} == {"floor": 3, "indoor": True, "site": "Lab 2"}
    assert {row["name"]: row["str_value"] for row in rows} == {"floor": "3", "indoor": "True", "site": "Lab 2"}
    for field in ("id", "name", "type", "value", "str_value", "is_system", "target", "created_on", "created_by"):
        assert field in rows[0]


def test_target_in_the_query_string_and_lenient_device_slugs(owner, device):
    client = api_client(owner)
    short = f"d--{device.id:x}"
    response = client.post(f"{PROPERTIES}?target={short}", {"name": "a", "value": "x"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["target"] == device.slug
    assert client.get(PROPERTIES, {"target": short}).json()["count"] == 1


def test_explicit_type_converts_and_bad_values_are_400(owner, device):
    client = api_client(owner)
    body = {"target": device.slug, "name": "count", "type": "int", "value": "12"}
    assert client.post(PROPERTIES, body, format="json").json()["value"] == 12
    bad = {"target": device.slug, "name": "n", "type": "int", "value": "twelve"}
    response = client.post(PROPERTIES, bad, format="json")
    assert response.status_code == 400
    assert "value" in response.json()
    assert client.post(PROPERTIES, {**bad, "type": "bool", "value": "maybe"}, format="json").status_code == 400
    assert client.post(PROPERTIES, {**bad, "type": "str", "value": "x" * 257}, format="json").status_code == 400
    assert GenericProperty.objects.filter(target=device.slug).count() == 1


def test_a_name_is_unique_per_target(owner, device):
    client = api_client(owner)
    body = {"target": device.slug, "name": "colour", "value": "blue"}
    assert client.post(PROPERTIES, body, format="json").status_code == 201
    response = client.post(PROPERTIES, {**body, "value": "red"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    other = make_device(device.project)
    assert client.post(PROPERTIES, {**body, "target": other.slug}, format="json").status_code == 201


def test_update_and_delete(owner, device):
    client = api_client(owner)
    created = client.post(PROPERTIES, {"target": device.slug, "name": "n", "value": 1}, format="json").json()
    url = f"{PROPERTIES}{created['id']}/"
    response = client.patch(url, {"value": "7"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["value"] == 7  # keeps its type
    assert client.patch(url, {"type": "str"}, format="json").json()["value"] == "7"
    assert client.patch(url, {"type": "int", "value": "x"}, format="json").status_code == 400
    assert client.delete(url).status_code == 204
    assert not GenericProperty.objects.filter(pk=created["id"]).exists()


def test_project_properties_and_who_may_write(device):
    org = device.org
    project = device.project
    operator = make_member(org, OPERATOR)
    member = make_member(org, MEMBER)
    body = {"target": project.slug, "name": "site", "value": "north"}
    assert api_client(operator).post(PROPERTIES, body, format="json").status_code == 403
    assert api_client(member).post(PROPERTIES, body, format="json").status_code == 201
    # Operators see the target but not its properties.
    assert api_client(operator).get(PROPERTIES, {"target": project.slug}).json()["count"] == 0


def test_templates_fix_the_type_and_allowed_values(owner, device):
    client = api_client(owner)
    response = client.post(
        TEMPLATES, {"org": device.org.slug, "name": "site", "enums": ["north", "south"]}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["enums"] == ["north", "south"]
    body = {"target": device.slug, "name": "site", "value": "east"}
    response = client.post(PROPERTIES, body, format="json")
    assert response.status_code == 400
    assert "north" in response.json()["value"][0]
    assert client.post(PROPERTIES, {**body, "value": "north"}, format="json").status_code == 201

    client.post(TEMPLATES, {"org": device.org.slug, "name": "floors", "type": "int"}, format="json")
    response = client.post(
        PROPERTIES, {"target": device.slug, "name": "floors", "type": "str", "value": "2"}, format="json"
    )
    assert response.status_code == 400
    # Without a type, the template's is used: "2" becomes the integer 2.
    response = client.post(PROPERTIES, {"target": device.slug, "name": "floors", "value": "2"}, format="json")
    assert response.json()["value"] == 2


def test_template_enum_action_and_validation(owner, device):
    client = api_client(owner)
    template = client.post(
        TEMPLATES, {"org": device.org.slug, "name": "levels", "type": "int", "enums": [1, 2]}, format="json"
    ).json()
    url = f"{TEMPLATES}{template['id']}/enum/"
    assert client.post(url, {"value": "3"}, format="json").json()["enums"] == ["1", "2", "3"]
    assert client.delete(url, {"value": "1"}, format="json").json()["enums"] == ["2", "3"]
    assert client.post(url, {"value": "three"}, format="json").status_code == 400
    member = make_member(device.org, MEMBER)
    assert api_client(member).post(url, {"value": "4"}, format="json").status_code == 403
    bad = {"org": device.org.slug, "name": "x", "type": "int", "enums": ["one"]}
    assert client.post(TEMPLATES, bad, format="json").status_code == 400
    assert not GenericPropertyOrgTemplate.objects.filter(name="x").exists()
    assert client.post(TEMPLATES, {"name": "y"}, format="json").status_code == 400
    taken = {"org": device.org.slug, "name": "levels"}
    assert client.post(TEMPLATES, taken, format="json").status_code == 400


def test_a_device_that_changes_hands_starts_without_the_old_properties(owner, device):
    from server.apps.device.services import device_claim, device_unclaim

    client = api_client(owner)
    client.post(PROPERTIES, {"target": device.slug, "name": "colour", "value": "blue"}, format="json")
    device_unclaim(device=device)
    new_org = make_org()
    new_owner = new_org.created_by
    device_claim(user=new_owner, device=device.slug, project=make_project(new_org))
    new_client = api_client(new_owner)
    assert new_client.get(PROPERTIES, {"target": device.slug}).json()["count"] == 0
    body = {"target": device.slug, "name": "colour", "value": "red"}
    assert new_client.post(PROPERTIES, body, format="json").status_code == 201
    assert client.get(PROPERTIES, {"target": device.slug}).status_code == 404


def test_analytics_reads_properties_by_target(owner, device):
    """iotile-analytics-core reads ``property/?target=<device>`` and uses name and value."""
    for i in range(3):
        property_create(user=owner, target=target_for_object(device), name=f"p{i}", value=i)
    client = api_client(owner)
    with assert_query_count(4):
        response = client.get(PROPERTIES, {"target": device.slug})
    body = response.json()
    assert body["count"] == 3
    assert set(body) == {"count", "next", "previous", "results"}
    assert [row["value"] for row in body["results"]] == [0, 1, 2]
