import itertools
import uuid

from server.apps.core.testing import (
    ScopedEndpointCases,
    api_client,
    assert_query_count,
    make_member,
    make_org,
    make_user,
)
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR, OWNER
from server.apps.project.models import Project
from server.apps.project.services import project_create

API = "/api/v1"
_names = itertools.count(1)


def _project(org, name: str | None = None) -> Project:
    return project_create(org=org, name=name or f"Project {next(_names)}", created_by=org.created_by)


class TestProjectEndpoint(ScopedEndpointCases):
    list_url = f"{API}/project/"
    list_key = "id"
    write_method = "patch"
    allowed_role = ADMIN
    denied_role = MEMBER
    read_role = OPERATOR
    list_query_count = 3  # authentication, count, page (device counts are annotated)
    stored_as = {"org": "org.slug"}

    def make_object(self, org):
        return _project(org)

    def detail_url(self, obj):
        return f"{API}/project/{obj.id}/"

    def write_data(self, obj):
        return {"about": "Changed", "name": "Renamed"}

    def create_data(self, org):
        return {"name": f"Created {next(_names)}", "org": org.slug, "about": "New"}


class TestProjectDeleteEndpoint(ScopedEndpointCases):
    """Deleting needs can_manage_org_and_projects, like every other project write."""

    write_method = "delete"
    allowed_role = OWNER
    denied_role = MEMBER

    def make_object(self, org):
        return _project(org)

    def detail_url(self, obj):
        return f"{API}/project/{obj.slug}/"


def test_fields(db):
    org = make_org()
    project = _project(org, "Fields")
    body = api_client(org.created_by).get(f"{API}/project/{project.id}/").json()
    assert body == {
        "id": str(project.id),
        "gid": project.gid,
        "slug": project.slug,
        "name": "Fields",
        "about": "",
        "org": org.slug,
        "auto_create_streams": True,
        "data_retention_days": None,
        "event_retention_days": None,
        "created_on": body["created_on"],
        "created_by": org.created_by.username,
        "device_count": 0,
    }


def test_lookup_by_uuid_or_any_slug_form(db):
    org = make_org()
    project = _project(org)
    client = api_client(org.created_by)
    short = f"p--{project.gid:x}"
    for key in (str(project.id), project.slug, project.slug.upper().replace("P--", "p--"), short):
        response = client.get(f"{API}/project/{key}/")
        assert response.status_code == 200, key
        assert response.json()["id"] == str(project.id)
    for bad in (str(uuid.uuid4()), "p--ffff-ffff", "d--0000-0000-0000-0001", "nonsense"):
        assert client.get(f"{API}/project/{bad}/").status_code == 404, bad


def test_device_count_is_annotated(db):
    from server.apps.device.services import device_claim, device_create

    org = make_org()
    project = _project(org)
    staff = make_user(is_staff=True)
    for _ in range(2):
        device_claim(user=staff, device=device_create(created_by=staff).id, project=project)
    listed = api_client(org.created_by).get(f"{API}/project/").json()
    assert listed["results"][0]["device_count"] == 2


def test_filters(db):
    user = make_user()
    first, second = make_org(owner=user, name="First Org"), make_org(owner=user, name="Second Org")
    _project(first, "Alpha")
    _project(first, "Beta")
    _project(second, "Alpha")
    client = api_client(user)

    def names(params):
        return sorted(f"{row['org']}:{row['name']}" for row in client.get(f"{API}/project/", params).json()["results"])

    assert names({"org": "first-org"}) == ["first-org:Alpha", "first-org:Beta"]
    assert names({"org__slug": "second-org"}) == ["second-org:Alpha"]
    assert names({"name": "alpha"}) == ["first-org:Alpha", "second-org:Alpha"]
    assert names({"org": "someone-elses"}) == []


def test_create(db):
    org = make_org()
    response = api_client(org.created_by).post(
        f"{API}/project/", {"name": "New One", "org": org.slug, "about": "x"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    project = Project.objects.get(pk=body["id"])
    assert (project.org, project.name, project.created_by) == (org, "New One", org.created_by)
    assert (body["slug"], body["device_count"]) == (project.slug, 0)


def test_create_in_an_invisible_org_is_a_field_error_that_leaks_nothing(db):
    victim = make_org()
    outsider = make_user()
    client = api_client(outsider)
    hidden = client.post(f"{API}/project/", {"name": "X", "org": victim.slug}, format="json")
    missing = client.post(f"{API}/project/", {"name": "X", "org": "no-such-org"}, format="json")
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json() == {"org": [m.replace("no-such-org", victim.slug) for m in missing.json()["org"]]}
    assert not Project.objects.filter(org=victim).exists()


def test_create_without_org_or_name_is_400(db):
    org = make_org()
    client = api_client(org.created_by)
    assert "org" in client.post(f"{API}/project/", {"name": "X"}, format="json").json()
    assert "name" in client.post(f"{API}/project/", {"org": org.slug}, format="json").json()
    assert not Project.objects.filter(org=org).exists()


def test_names_are_unique_per_org(db):
    org, other = make_org(), make_org()
    _project(org, "Same")
    response = api_client(org.created_by).post(f"{API}/project/", {"name": "same", "org": org.slug}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    other_owner = api_client(other.created_by)
    assert other_owner.post(f"{API}/project/", {"name": "Same", "org": other.slug}, format="json").status_code == 201
    renamed = _project(org, "Different")
    clash = api_client(org.created_by).patch(f"{API}/project/{renamed.id}/", {"name": "Same"}, format="json")
    assert clash.status_code == 400
    renamed.refresh_from_db()
    assert renamed.name == "Different"


def test_rename_keeps_ids_and_ignores_org_changes(db):
    org, other = make_org(), make_org()
    project = _project(org, "Old")
    client = api_client(org.created_by)
    response = client.patch(f"{API}/project/{project.slug}/", {"name": "New", "org": other.slug}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["slug"], body["name"], body["org"]) == (str(project.id), project.slug, "New", org.slug)


def test_delete_with_devices_is_a_conflict(db):
    from server.apps.device.services import device_claim, device_create

    org = make_org()
    project = _project(org)
    staff = make_user(is_staff=True)
    device_claim(user=staff, device=device_create(created_by=staff).id, project=project)
    assert api_client(org.created_by).delete(f"{API}/project/{project.id}/").status_code == 409
    assert Project.objects.filter(pk=project.pk).exists()


def test_list_query_count_with_devices_is_constant(db):
    from server.apps.device.services import device_claim, device_create

    org = make_org()
    staff = make_user(is_staff=True)
    client = api_client(make_member(org, MEMBER))
    counts = []
    for _ in range(2):
        for _ in range(3):
            project = _project(org)
            device_claim(user=staff, device=device_create(created_by=staff).id, project=project)
        with assert_query_count(3):
            counts.append(client.get(f"{API}/project/", {"org": org.slug}).json()["count"])
    assert counts == [3, 6]


def test_auto_create_streams_is_read_and_patched(db):
    org = make_org()
    project = _project(org)
    client = api_client(make_member(org, ADMIN))
    url = f"{API}/project/{project.slug}/"
    assert client.get(url).json()["auto_create_streams"] is True

    response = client.patch(url, {"auto_create_streams": False}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["auto_create_streams"] is False
    project.refresh_from_db()
    assert project.auto_create_streams is False
    # Other changes leave it as it is.
    assert client.patch(url, {"about": "Pumps"}, format="json").json()["auto_create_streams"] is False
    assert (
        client.put(url, {"name": project.name, "about": "Pumps"}, format="json").json()["auto_create_streams"] is False
    )

    assert client.patch(url, {"auto_create_streams": True}, format="json").json()["auto_create_streams"] is True
    project.refresh_from_db()
    assert project.auto_create_streams is True
    assert client.patch(url, {"auto_create_streams": "sometimes"}, format="json").status_code == 400


def test_auto_create_streams_on_create(db):
    org = make_org()
    client = api_client(org.created_by)
    off = client.post(f"{API}/project/", {"name": "Off", "org": org.slug, "auto_create_streams": False}, format="json")
    assert off.status_code == 201, off.content
    assert off.json()["auto_create_streams"] is False
    assert Project.objects.get(name="Off").auto_create_streams is False
    assert client.post(f"{API}/project/", {"name": "On", "org": org.slug}, format="json").json()["auto_create_streams"]


def test_auto_create_streams_needs_the_right_to_change_the_project(db):
    org = make_org()
    project = _project(org)
    url = f"{API}/project/{project.id}/"
    for role in (MEMBER, OPERATOR):
        client = api_client(make_member(org, role))
        assert client.get(url).json()["auto_create_streams"] is True  # they read it
        assert client.patch(url, {"auto_create_streams": False}, format="json").status_code == 403, role
    outsider = make_user()
    make_org(owner=outsider)
    assert api_client(outsider).patch(url, {"auto_create_streams": False}, format="json").status_code == 404
    assert api_client().patch(url, {"auto_create_streams": False}, format="json").status_code == 401
    project.refresh_from_db()
    assert project.auto_create_streams is True


def test_auto_create_streams_is_in_the_schema(db):
    schema = api_client(make_user()).get(f"{API}/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    for name in ("Project", "ProjectRequest", "PatchedProjectUpdateRequest"):
        field = components[name]["properties"]["auto_create_streams"]
        assert field["type"] == "boolean", name
        assert "skipped" in field["description"]
    assert "auto_create_streams" not in components["ProjectRequest"].get("required", [])
