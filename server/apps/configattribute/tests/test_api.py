from __future__ import annotations

import itertools

import pytest

from server.apps.configattribute.models import CONFIG_TARGET_KINDS, ConfigAttribute
from server.apps.configattribute.tests.factories import config_name, set_config
from server.apps.core.targets import DEVICE, ORG
from server.apps.core.testing import (
    TargetedEndpointCases,
    api_client,
    assert_query_count,
    make_member,
    make_org,
    make_user,
)
from server.apps.device.tests.factories import make_device, make_project
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR

NAMES = "/api/v1/config/name/"
ATTRIBUTES = "/api/v1/config/attr/"
SEARCH = "/api/v1/config/attr/search/"
_names = itertools.count(1)


class TestOrgConfigAttributeEndpoint(TargetedEndpointCases):
    """Organisation-level attributes: members read them, can_manage_org_and_projects writes them."""

    endpoint = ATTRIBUTES
    created_model = ConfigAttribute
    target_kinds = CONFIG_TARGET_KINDS
    default_kind = ORG
    stored_as = {"name": "name.name"}
    list_query_count = 4  # authentication, the target, the count, the page
    allowed_role = ADMIN
    denied_role = MEMBER

    def make_row(self, target_obj):
        return set_config(target_obj, f":n:{next(_names)}", {"a": 1})

    def row_data(self, target_obj) -> dict:
        return {"name": config_name(f":create:{next(_names)}").name, "data": {"x": [1, 2], "on": True}}

    def write_data(self, obj) -> dict:
        return {"data": {"a": 2}}


class TestDeviceConfigAttributeEndpoint(TestOrgConfigAttributeEndpoint):
    """Device-level attributes: can_modify_device writes them, so members may and operators may not."""

    default_kind = DEVICE
    allowed_role = MEMBER
    denied_role = OPERATOR


@pytest.fixture
def device(db):
    return make_device(make_project())


@pytest.fixture
def owner(device):
    return device.org.created_by


def test_search_by_priority_at_all_four_levels(device, owner):
    name = ":classic:report"
    client = api_client(owner)

    def search(target: str = device.slug):
        return client.get(SEARCH, {"target": target, "name": name})

    assert search().status_code == 404
    set_config(owner, name, {"level": "user"})
    assert search().json()["data"] == {"level": "user"}
    assert search().json()["target"] == f"@{owner.slug}"
    set_config(device.org, name, {"level": "org"})
    assert search().json()["target"] == f"^{device.org.slug}"
    set_config(device.project, name, {"level": "project"})
    assert search().json()["target"] == device.project.slug
    assert search().json()["target_kind"] == "project"
    set_config(device, name, {"level": "device"})
    body = search().json()
    assert (body["target"], body["target_kind"], body["data"]) == (device.slug, "device", {"level": "device"})
    # Searching from higher up skips the levels below.
    assert search(device.project.slug).json()["data"] == {"level": "project"}
    assert search(f"^{device.org.slug}").json()["data"] == {"level": "org"}
    assert search(f"@{owner.slug}").json()["data"] == {"level": "user"}
    # The lenient form of the device slug finds the same.
    assert search(f"d--{device.id:x}").json()["data"] == {"level": "device"}


def test_the_user_level_is_the_user_asking(device, owner):
    name = ":ui:theme"
    member = make_member(device.org, MEMBER)
    set_config(owner, name, {"theme": "dark"})
    client = api_client(member)
    assert client.get(SEARCH, {"target": device.slug, "name": name}).status_code == 404
    set_config(member, name, {"theme": "light"})
    assert client.get(SEARCH, {"target": device.slug, "name": name}).json()["data"] == {"theme": "light"}


def test_search_is_one_query_after_the_target(device, owner):
    set_config(device.org, ":x", 1)
    client = api_client(owner)
    with assert_query_count(3):  # authentication, the target, the attributes
        response = client.get(SEARCH, {"target": device.slug, "name": ":x"})
    assert response.json()["data"] == 1


def test_search_errors(device, owner):
    client = api_client(owner)
    assert client.get(SEARCH, {"target": device.slug}).status_code == 400
    assert client.get(SEARCH, {"name": ":x"}).status_code == 400
    assert client.get(SEARCH, {"target": "d--ffff", "name": ":x"}).status_code == 404
    outsider = make_org().created_by
    set_config(device.org, ":x", 1)
    assert api_client(outsider).get(SEARCH, {"target": device.slug, "name": ":x"}).status_code == 404
    assert api_client(outsider).get(SEARCH, {"target": f"^{device.org.slug}", "name": ":x"}).status_code == 404


def test_users_own_attributes_are_theirs_alone(device, owner):
    member = make_member(device.org, MEMBER)
    name = config_name(":ui:theme").name
    client = api_client(member)
    response = client.post(ATTRIBUTES, {"target": f"@{member.slug}", "name": name, "data": "x"}, format="json")
    assert response.status_code == 201, response.content
    attribute_id = response.json()["id"]
    assert response.json()["target_kind"] == "user"
    assert client.patch(f"{ATTRIBUTES}{attribute_id}/", {"data": "y"}, format="json").status_code == 200
    # Another user, even the owner of the member's organisation, neither sees nor writes them.
    other = api_client(owner)
    assert other.get(f"{ATTRIBUTES}{attribute_id}/").status_code == 404
    assert other.get(ATTRIBUTES, {"target": f"@{member.slug}"}).status_code == 404
    body = {"target": f"@{member.slug}", "name": name, "data": "z"}
    assert other.post(ATTRIBUTES, body, format="json").status_code == 404
    assert other.delete(f"{ATTRIBUTES}{attribute_id}/").status_code == 404
    assert client.delete(f"{ATTRIBUTES}{attribute_id}/").status_code == 204


def test_project_attributes_need_can_manage_org_and_projects(device):
    member = make_member(device.org, MEMBER)
    name = config_name(":p").name
    body = {"target": device.project.slug, "name": name, "data": {}}
    assert api_client(member).post(ATTRIBUTES, body, format="json").status_code == 403
    admin = make_member(device.org, ADMIN)
    assert api_client(admin).post(ATTRIBUTES, body, format="json").status_code == 201


def test_create_errors(device, owner):
    client = api_client(owner)
    name = config_name(":dup").name
    body = {"target": device.slug, "name": name, "data": 1}
    assert client.post(ATTRIBUTES, body, format="json").status_code == 201
    response = client.post(ATTRIBUTES, body, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    assert client.post(ATTRIBUTES, {**body, "name": ":unknown"}, format="json").status_code == 400
    assert client.post(ATTRIBUTES, {"name": name, "data": 1}, format="json").status_code == 400
    stream_target = {**body, "target": f"s--{device.project.gid:x}--{device.id:x}--5001"}
    assert client.post(ATTRIBUTES, stream_target, format="json").status_code == 400
    assert client.get(ATTRIBUTES).status_code == 400
    assert ConfigAttribute.objects.count() == 1


def test_config_names(db):
    staff = make_user(is_staff=True)
    user = make_user()
    response = api_client(staff).post(NAMES, {"name": ":report:summary", "tags": ["report"]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["tags"] == ["report"]
    assert api_client(user).post(NAMES, {"name": ":other"}, format="json").status_code == 403
    for bad in ("report", ":with space", ":", "::a", ":a:"):
        assert api_client(staff).post(NAMES, {"name": bad}, format="json").status_code == 400, bad
    assert api_client(staff).post(NAMES, {"name": ":report:summary"}, format="json").status_code == 400
    listed = api_client(user).get(NAMES).json()
    assert [row["name"] for row in listed["results"]] == [":report:summary"]
    detail = api_client(user).get(f"{NAMES}:report:summary/")
    assert detail.status_code == 200
    patched = api_client(staff).patch(f"{NAMES}:report:summary/", {"description": "Monthly"}, format="json")
    assert patched.json()["description"] == "Monthly"
    assert api_client().get(NAMES).status_code == 401
