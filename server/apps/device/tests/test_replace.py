"""Replacing a device in the field: its series go on through aliases that read the old device before the swap and
the new one after it (acceptance: "L returns A's data before T and B's after, with no gap")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.apps.core.testing import api_client, make_member
from server.apps.device.models import Device, DeviceState
from server.apps.device.tests.factories import T0, add_data, make_device, make_project, make_stream, make_variable
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR
from server.apps.property.models import GenericProperty
from server.apps.stream.models import StreamId
from server.apps.streamalias.models import StreamAlias, StreamAliasTap

MINUTE = timedelta(minutes=1)
SWAP = T0 + 10 * MINUTE
DATA = "/api/v1/data/"


def replace_url(device) -> str:
    return f"/api/v1/device/{device.slug}/replace/"


@pytest.fixture
def project(db):
    project = make_project()
    make_variable(project, lid=0x5001, name="Level")
    make_variable(project, lid=0x5002, name="Temperature")
    return project


@pytest.fixture
def owner(project):
    return project.org.created_by


@pytest.fixture
def old(project):
    device = make_device(project, label="Tank 3")
    Device.objects.filter(pk=device.pk).update(lat="-33.8", lon="151.2")
    # Readings every minute from T0 until 3 minutes after the swap (the old device kept sending for a while).
    for stream in StreamId.objects.filter(device=device):
        add_data(stream, 13, first_id=1000)
    return device


def _alias_rows(client, alias_slug):
    body = client.get(DATA, {"filter": alias_slug, "page_size": 1000}).json()
    return [(row["device"], row["timestamp"]) for row in body["results"]]


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_replacement_keeps_one_series_without_gap_or_overlap(owner, old, project):
    new = make_device(label="")  # unclaimed, as it comes out of the box
    client = api_client(owner)
    response = client.post(replace_url(old), {"new_device": new.slug, "timestamp": _iso(SWAP)}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["device"], body["new_device"], body["timestamp"]) == (old.slug, new.slug, _iso(SWAP))
    assert [(row["old_stream"][-4:], row["new_stream"][-4:]) for row in body["streams"]] == [
        ("5001", "5001"),
        ("5002", "5002"),
    ]
    assert body["streams"][0]["alias_name"] == f"Level ({old.label})"

    # The new device was claimed into the project and took over what it lacked; the old one is retired.
    new.refresh_from_db()
    old.refresh_from_db()
    assert (new.project_id, new.label, str(new.lat), new.state) == (project.pk, "Tank 3", "-33.800000000", "N1")
    assert (old.active, old.state, old.project_id) == (False, DeviceState.INACTIVE, project.pk)

    # The new device reports from a bench test before the swap and from the field after it.
    for stream in StreamId.objects.filter(device=new):
        add_data(stream, 3, start=T0 + 2 * MINUTE, first_id=1)
        add_data(stream, 5, start=SWAP, first_id=10)
    rows = _alias_rows(client, body["streams"][0]["alias"])
    assert rows == [(old.slug, _iso(T0 + i * MINUTE)) for i in range(10)] + [
        (new.slug, _iso(SWAP + i * MINUTE)) for i in range(5)
    ]
    taps = StreamAliasTap.objects.filter(alias__slug=body["streams"][0]["alias"]).order_by("timestamp")
    assert [tap.stream.device_id for tap in taps] == [old.id, new.id]


def test_a_second_replacement_extends_the_same_alias(owner, old):
    first, second = make_device(), make_device()
    client = api_client(owner)
    aliases = [
        row["alias"]
        for row in client.post(replace_url(old), {"new_device": first.slug, "timestamp": _iso(SWAP)}).json()["streams"]
    ]
    later = SWAP + 5 * MINUTE
    response = client.post(replace_url(first), {"new_device": second.slug, "timestamp": _iso(later)}, format="json")
    assert response.status_code == 200, response.content
    assert [row["alias"] for row in response.json()["streams"]] == aliases
    assert StreamAlias.objects.count() == 2
    for stream in StreamId.objects.filter(device=first):
        add_data(stream, 10, start=SWAP, first_id=1)
    for stream in StreamId.objects.filter(device=second):
        add_data(stream, 2, start=later, first_id=1)
    devices = [device for device, _ in _alias_rows(client, aliases[0])]
    assert devices == [old.slug] * 10 + [first.slug] * 5 + [second.slug] * 2


def test_replacement_copies_the_device_properties(owner, old):
    GenericProperty.objects.create(target=old.slug, target_kind="device", org=old.org, name="site", str_value="North")
    GenericProperty.objects.create(
        target=old.slug, target_kind="device", org=old.org, name="fw", str_value="1", is_system=True
    )
    new = make_device()
    api_client(owner).post(replace_url(old), {"new_device": new.slug, "timestamp": _iso(SWAP)}, format="json")
    copied = GenericProperty.objects.filter(target=new.slug).values_list("name", "str_value", "org")
    assert list(copied) == [("site", "North", old.org_id)]


def test_failures_change_nothing(owner, old, project):
    client = api_client(owner)
    new = make_device()
    elsewhere = make_device(make_project(project.org))
    foreign = make_device(make_project())
    cases = [
        ({"new_device": old.slug, "timestamp": _iso(SWAP)}, 400),
        ({"new_device": elsewhere.slug, "timestamp": _iso(SWAP)}, 400),
        ({"new_device": foreign.slug, "timestamp": _iso(SWAP)}, 400),
        ({"new_device": "d--0000-0000-00ff-ffff", "timestamp": _iso(SWAP)}, 400),
        ({"new_device": "d--zz", "timestamp": _iso(SWAP)}, 400),
        ({"new_device": new.slug}, 400),
        ({"new_device": new.slug, "timestamp": "1960-01-01T00:00:00Z"}, 400),
    ]
    for data, status in cases:
        response = client.post(replace_url(old), data, format="json")
        assert response.status_code == status, (data, response.content)
    # A replacement time not after the alias's latest tap is refused as a whole.
    alias = client.post(replace_url(old), {"new_device": new.slug, "timestamp": _iso(SWAP)}).json()["streams"][0]
    third = make_device()
    taps = StreamAliasTap.objects.count()
    response = client.post(replace_url(new), {"new_device": third.slug, "timestamp": _iso(SWAP)}, format="json")
    assert response.status_code == 400
    assert alias["alias"] in response.json()["detail"]
    third.refresh_from_db()
    new.refresh_from_db()
    assert (StreamAliasTap.objects.count(), third.project_id, new.active) == (taps, None, True)
    old.refresh_from_db()
    assert old.state == DeviceState.INACTIVE


def test_permissions(old, project):
    new = make_device()
    data = {"new_device": new.slug, "timestamp": _iso(SWAP)}
    # Members modify devices but do not manage aliases; operators may not modify devices.
    for role in (MEMBER, OPERATOR):
        response = api_client(make_member(project.org, role)).post(replace_url(old), data, format="json")
        assert response.status_code == 403, role
    assert api_client(make_project().org.created_by).post(replace_url(old), data, format="json").status_code == 404
    assert api_client().post(replace_url(old), data, format="json").status_code == 401
    assert not StreamAlias.objects.exists()
    new.refresh_from_db()
    assert new.project_id is None
    response = api_client(make_member(project.org, ADMIN)).post(replace_url(old), data, format="json")
    assert response.status_code == 200, response.content


def test_the_replacement_may_already_be_in_the_project(owner, old, project):
    new = make_device(project)
    make_stream(new, lid=0x5003)
    response = api_client(owner).post(replace_url(old), {"new_device": new.slug, "timestamp": _iso(SWAP)})
    assert response.status_code == 200, response.content
    assert len(response.json()["streams"]) == 2
