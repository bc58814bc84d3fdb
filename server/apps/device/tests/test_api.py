from __future__ import annotations

from decimal import Decimal

import pytest

from server.apps.core.testing import (
    ScopedEndpointCases,
    api_client,
    assert_query_count,
    make_member,
    make_org,
)
from server.apps.device.models import Device
from server.apps.device.tests.factories import (
    add_data,
    make_device,
    make_project,
    make_staff,
    make_stream,
    make_variable,
)
from server.apps.devicetemplate.services import device_template_create
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR, OWNER
from server.apps.sensorgraph.services import sensorgraph_create
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData

DEVICES = "/api/v1/device/"


def detail(device_or_slug) -> str:
    slug = getattr(device_or_slug, "slug", device_or_slug)
    return f"{DEVICES}{slug}/"


class TestDeviceEndpoint(ScopedEndpointCases):
    list_url = DEVICES
    list_key = "slug"
    list_query_count = 3
    allowed_role = MEMBER
    denied_role = OPERATOR
    # Creating devices is for staff only (see test_members_may_not_create_or_delete_devices).

    def make_object(self, org):
        return make_device(make_project(org), label="sensor")

    def detail_url(self, obj) -> str:
        return detail(obj)

    def write_data(self, obj) -> dict:
        return {"label": "renamed", "external_id": "asset-17", "lat": "45.500000001", "lon": -73.25, "active": False}


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def owner(project):
    return project.org.created_by


def test_detail_has_the_contract_fields(project, owner):
    device = make_device(project, label="pump", external_id="ext-1")
    body = api_client(owner).get(detail(device)).json()
    assert body["id"] == device.id
    assert body["slug"] == device.slug
    assert body["gid"] == device.slug[3:]
    assert body["project"] == str(project.id)
    assert body["project_slug"] == project.slug
    assert body["org"] == project.org.slug
    assert body["claimed_by"] == owner.username
    assert body["label"] == "pump"
    assert body["external_id"] == "ext-1"
    for field in ("sg", "template", "lat", "lon", "active", "state", "created_on", "claimed_on", "last_known_id"):
        assert field in body


def test_lenient_slugs_in_urls_find_the_device_and_emit_the_canonical_slug(owner, project):
    make_device(project, id=0xAB)
    client = api_client(owner)
    for form in ("d--ab", "d--00AB", "d--0000-0000-0000-00ab", "0xab", "0xAB", str(0xAB)):
        response = client.get(detail(form))
        assert response.status_code == 200, form
        assert response.json()["slug"] == "d--0000-0000-0000-00ab"
    assert client.get(detail("d--zz")).status_code == 404
    assert client.get(detail("d--ac")).status_code == 404


def test_short_slug_d__1(owner, project):
    device = make_device(project, id=1)
    assert api_client(owner).get(detail("d--1")).json()["id"] == device.id


def test_filters(db):
    staff = make_staff()
    org = make_org()
    first, second = make_project(org), make_project(org)
    sg = sensorgraph_create(created_by=staff, name="Water meter", major_version=1)
    template = device_template_create(created_by=staff, external_sku="POD-1", major_version=2)
    in_first = make_device(first, external_id="ext-a", sg=sg.slug, template=template.slug)
    in_second = make_device(second, external_id="ext-b")
    unclaimed = make_device()
    client = api_client(org.created_by)

    def slugs(**params):
        response = client.get(DEVICES, params)
        assert response.status_code == 200, response.content
        return [row["slug"] for row in response.json()["results"]]

    assert slugs(project=str(first.id)) == [in_first.slug]
    assert slugs(project=first.slug) == [in_first.slug]
    assert slugs(project=second.slug.upper().replace("P--", "p--")) == [in_second.slug]
    assert slugs(external_id="ext-b") == [in_second.slug]
    assert slugs(sg=sg.slug) == [in_first.slug]
    assert slugs(dt=template.slug) == [in_first.slug]
    assert slugs(org=org.slug) == [in_first.slug, in_second.slug]
    assert slugs(org__slug=org.slug) == [in_first.slug, in_second.slug]
    assert client.get(DEVICES, {"project": "not-a-project"}).status_code == 400

    staff_client = api_client(staff)
    response = staff_client.get(DEVICES, {"claimed": "false"})
    assert [row["slug"] for row in response.json()["results"]] == [unclaimed.slug]
    response = staff_client.get(DEVICES, {"claimed": "true"})
    assert unclaimed.slug not in [row["slug"] for row in response.json()["results"]]
    # Unclaimed devices belong to no organisation: members never see them.
    assert unclaimed.slug not in slugs()


def test_list_query_count_is_constant(project, owner):
    client = api_client(owner)
    make_device(project)
    with assert_query_count(3):
        assert client.get(DEVICES).json()["count"] == 1
    for _ in range(5):
        make_device(project)
    with assert_query_count(3):
        assert client.get(DEVICES).json()["count"] == 6


# Creation, edits, deletion ----------------------------------------------------------------------------------------


def test_staff_creates_devices_with_or_without_a_serial_number(db):
    client = api_client(make_staff())
    response = client.post(DEVICES, {"id": 0x1234, "label": "first"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "d--0000-0000-0000-1234"
    response = client.post(DEVICES, {"label": "next"}, format="json")
    assert response.status_code == 201
    assert response.json()["id"] > 0x1234
    assert client.post(DEVICES, {"id": 0x1234}, format="json").status_code == 400
    assert client.post(DEVICES, {"sg": "no-such-sg"}, format="json").status_code == 400
    assert client.post(DEVICES, {"id": 1 << 48}, format="json").status_code == 400


def test_members_may_not_create_or_delete_devices(project, owner):
    client = api_client(owner)
    assert client.post(DEVICES, {"label": "x"}, format="json").status_code == 403
    device = make_device(project)
    assert client.delete(detail(device)).status_code == 403
    assert Device.objects.filter(pk=device.pk).exists()


def test_staff_deletes_a_device_with_its_streams_and_data(project):
    device = make_device(project)
    stream = make_stream(device)
    add_data(stream, 3)
    assert api_client(make_staff()).delete(detail(device)).status_code == 204
    assert not Device.objects.filter(pk=device.pk).exists()
    assert not StreamId.objects.filter(pk=stream.pk).exists()
    assert not StreamData.objects.filter(series=stream.series).exists()


def test_patch_sensor_graph_and_template(project, owner):
    staff = make_staff()
    sg = sensorgraph_create(created_by=staff, name="Shipping", major_version=1, app_tag=1027)
    template = device_template_create(created_by=staff, external_sku="POD-1M", os_tag=1024)
    device = make_device(project)
    member = api_client(make_member(project.org, MEMBER))

    response = member.patch(detail(device), {"sg": sg.slug, "lat": "12.5", "label": "on a truck"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["sg"] == sg.slug
    assert response.json()["lat"] == 12.5
    assert member.patch(detail(device), {"sg": "unknown"}, format="json").status_code == 400

    assert member.patch(f"{detail(device)}?staff=1", {"template": template.slug}, format="json").status_code == 403
    staff_client = api_client(staff)
    assert staff_client.patch(detail(device), {"template": template.slug}, format="json").status_code == 400
    response = staff_client.patch(f"{detail(device)}?staff=1", {"template": template.slug}, format="json")
    assert response.status_code == 200
    assert response.json()["template"] == template.slug
    bad = staff_client.patch(f"{detail(device)}?staff=1", {"template": "nope"}, format="json")
    assert bad.status_code == 400
    # ?staff= is a boolean as every other: a word it cannot read is a 400, and nothing changes.
    for word in ("maybe", "yes", "2"):
        unread = staff_client.patch(f"{detail(device)}?staff={word}", {"label": "elsewhere"}, format="json")
        assert unread.status_code == 400, word
        assert "staff" in unread.json()
    device.refresh_from_db()
    assert device.template == template
    assert device.label == "on a truck"


# Position ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        ({"lat": 91}, ["lat"]),
        ({"lat": -90.5}, ["lat"]),
        ({"lat": "90.000000001"}, ["lat"]),
        ({"lon": 181}, ["lon"]),
        ({"lon": "-180.5"}, ["lon"]),
        ({"lat": 45, "lon": 200}, ["lon"]),
        ({"lat": 1e6, "lon": -1e6}, ["lat", "lon"]),
    ],
)
def test_a_position_off_the_globe_is_a_400_that_changes_nothing(project, owner, body, refused):
    """The limits location/ holds its locations to (device.models MAX_LATITUDE, MAX_LONGITUDE)."""
    device = make_device(project, label="sensor")
    Device.objects.filter(pk=device.pk).update(lat=Decimal("12.5"), lon=Decimal("-3.25"))
    response = api_client(owner).patch(detail(device), {"label": "moved", **body}, format="json")
    assert response.status_code == 400, response.content
    assert sorted(response.json()) == refused
    device.refresh_from_db()
    assert (device.label, device.lat, device.lon) == ("sensor", Decimal("12.5"), Decimal("-3.25"))


def test_a_position_on_the_globe_up_to_its_edges_is_stored(project, owner):
    device = make_device(project)
    client = api_client(owner)
    for lat, lon in ((90, 180), (-90, -180), ("-89.999999999", "179.999999999"), (0, 0), (None, None)):
        response = client.patch(detail(device), {"lat": lat, "lon": lon}, format="json")
        assert response.status_code == 200, response.content
        device.refresh_from_db()
        expected = [None if value is None else Decimal(str(value)) for value in (lat, lon)]
        assert [device.lat, device.lon] == expected
        assert [response.json()["lat"], response.json()["lon"]] == [None if v is None else float(v) for v in expected]


# Claiming ---------------------------------------------------------------------------------------------------------


def test_claim(project, owner):
    make_variable(project, lid=0x5001)
    device = make_device()
    response = api_client(owner).post(
        f"{DEVICES}claim/", {"device": device.slug, "project": project.slug}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json() == {
        "claimed": True,
        "device": device.slug,
        "project": project.slug,
        "project_id": str(project.id),
    }
    device.refresh_from_db()
    assert device.project == project
    assert device.org == project.org
    assert device.claimed_by == owner
    assert device.claimed_on is not None
    # The hook makes the device's streams for the project's variables.
    assert list(StreamId.objects.filter(device=device).values_list("var_lid", flat=True)) == [0x5001]


def test_claim_failures_leak_nothing(project, owner):
    client = api_client(owner)
    other_project = make_project()
    taken = make_device(other_project)
    free = make_device()

    def claim(device, project_value):
        return client.post(f"{DEVICES}claim/", {"device": device, "project": project_value}, format="json")

    unknown = claim("d--0000-0000-00ff-ffff", project.slug)
    claimed = claim(taken.slug, project.slug)
    assert unknown.status_code == claimed.status_code == 400
    assert unknown.json()["device"] == claimed.json()["device"]
    assert claim(free.slug, str(other_project.id)).status_code == 404
    assert claim(free.slug, "p--zz").status_code == 400
    assert claim("not a slug", project.slug).status_code == 400
    member = api_client(make_member(project.org, MEMBER))
    forbidden = member.post(f"{DEVICES}claim/", {"device": free.slug, "project": project.slug}, format="json")
    assert forbidden.status_code == 403
    free.refresh_from_db()
    assert free.project is None


def test_claimable(project, owner):
    taken = make_device(project)
    free = make_device()
    response = api_client(owner).post(
        f"{DEVICES}claimable/", {"slugs": [taken.slug, free.slug, "d--0000-0000-00ff-ffff", "junk"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "count": 4,
        "results": [
            {"slug": taken.slug, "claimable": False},
            {"slug": free.slug, "claimable": True},
            {"slug": "d--0000-0000-00ff-ffff", "claimable": False},
            {"slug": "junk", "claimable": False},
        ],
    }


@pytest.mark.parametrize("clean_streams", [True, False])
def test_unclaim(project, owner, clean_streams):
    device = make_device(project)
    stream = make_stream(device)
    add_data(stream, 4)
    # Claiming another device into the project gives it a stream of the same variable.
    other_stream = StreamId.objects.get(device=make_device(project), variable=stream.variable)
    add_data(other_stream, 2)
    response = api_client(owner).post(
        f"{detail(device)}unclaim/", {"label": "returned", "clean_streams": clean_streams}, format="json"
    )
    assert response.status_code == 202, response.content
    device.refresh_from_db()
    assert (device.project, device.org, device.claimed_by, device.label) == (None, None, None, "returned")
    assert StreamId.objects.filter(pk=stream.pk).exists() is not clean_streams
    assert StreamData.objects.filter(series=stream.series).count() == (0 if clean_streams else 4)
    assert StreamData.objects.filter(series=other_stream.series).count() == 2
    assert api_client(owner).get(detail(device)).status_code == 404


def test_unclaim_needs_the_claim_permission(project):
    device = make_device(project)
    for role, expected in ((MEMBER, 403), (ADMIN, 202)):
        user = make_member(project.org, role)
        assert api_client(user).post(f"{detail(device)}unclaim/", {}, format="json").status_code == expected
    outsider = make_org().created_by
    assert api_client(outsider).post(f"{detail(device)}unclaim/", {}, format="json").status_code == 404


# Extra ------------------------------------------------------------------------------------------------------------


def test_extra_counts_data_per_stream_with_a_fixed_number_of_queries(project, owner):
    device = make_device(project)
    first = make_stream(device, lid=0x5001)
    add_data(first, 3)
    client = api_client(owner)
    url = f"{detail(device)}extra/"
    with assert_query_count(4), assert_query_count(1, using="streamdata"):
        body = client.get(url).json()
    assert body == {"stream_counts": {first.slug: {"data_cnt": 3, "event_cnt": 0, "has_streamid": True}}}

    for lid in (0x5002, 0x5003, 0x5004):
        add_data(make_stream(device, lid=lid), 2)
    with assert_query_count(4), assert_query_count(1, using="streamdata"):
        body = client.get(url).json()
    assert len(body["stream_counts"]) == 4
    assert body["stream_counts"][first.slug]["data_cnt"] == 3


def test_extra_counts_the_rows_of_each_streams_series(project, owner):
    """Rows belong to a stream through its series id: rows of a series that no stream holds any more (a stream
    removed outside the services) are no device's."""
    device = make_device(project)
    stream, gone = make_stream(device), make_stream(device, lid=0x5002)
    add_data(stream, 2)
    add_data(gone, 3)
    StreamId.objects.filter(pk=gone.pk).delete()
    body = api_client(owner).get(f"{detail(device)}extra/").json()
    assert body["stream_counts"] == {stream.slug: {"data_cnt": 2, "event_cnt": 0, "has_streamid": True}}


def test_operator_reads_devices_but_owner_role_is_needed_to_claim(project):
    operator = api_client(make_member(project.org, OPERATOR))
    device = make_device(project)
    assert operator.get(detail(device)).status_code == 200
    owner_user = make_member(project.org, OWNER)
    assert api_client(owner_user).post(f"{detail(device)}unclaim/", {}, format="json").status_code == 202
