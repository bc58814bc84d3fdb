from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from server.apps.core import slugs
from server.apps.core.targets import target_for_object
from server.apps.core.testing import TargetedEndpointCases, api_client, assert_query_count, make_member
from server.apps.datablock.models import DataBlock
from server.apps.device.models import Device
from server.apps.device.tests.factories import T0, make_device, make_project
from server.apps.devicelocation.models import DeviceLocation
from server.apps.devicelocation.selectors import locations_for
from server.apps.devicelocation.services import LOCATION_TARGET_KINDS, device_location_create
from server.apps.org.roles import MEMBER, OPERATOR

LOCATIONS = "/api/v1/location/"


class TestDeviceLocationEndpoint(TargetedEndpointCases):
    endpoint = LOCATIONS
    created_model = DeviceLocation
    target_kinds = LOCATION_TARGET_KINDS
    list_query_count = 4  # authentication, the target, the count, the page
    allowed_role = MEMBER
    denied_role = None  # every role that reads locations may modify devices
    hidden_role = OPERATOR
    create_denied_role = OPERATOR

    def make_row(self, target_obj):
        target = target_for_object(target_obj)
        return device_location_create(
            user=target.org.created_by, target=target, lat=Decimal("45.5"), lon=Decimal("-73.6")
        )

    def row_data(self, target_obj) -> dict:
        return {"lat": 10.25, "lon": -20.123456789, "timestamp": "2026-01-02T03:04:05Z"}

    def write_data(self, obj) -> dict:
        return {"lat": 45.51, "lon": "-73.000000001", "timestamp": "2026-02-01T00:00:00Z"}


@pytest.fixture
def device(db):
    return make_device(make_project())


@pytest.fixture
def owner(device):
    return device.org.created_by


def position(device) -> tuple[Decimal | None, Decimal | None]:
    fresh = Device.objects.get(pk=device.pk)
    return fresh.lat, fresh.lon


def test_a_post_moves_the_device_to_its_latest_location(device, owner):
    client = api_client(owner)
    response = client.post(
        LOCATIONS, {"target": device.slug, "lat": 45.5, "lon": -73.25, "timestamp": "2026-01-02T00:00:00Z"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["lat"], body["lon"], body["target"], body["user"]) == (45.5, -73.25, device.slug, owner.username)
    assert position(device) == (Decimal("45.5"), Decimal("-73.25"))
    # An older location does not move the device back.
    client.post(LOCATIONS, {"target": device.slug, "lat": 1, "lon": 2, "timestamp": "2026-01-01T00:00:00Z"})
    assert position(device) == (Decimal("45.5"), Decimal("-73.25"))


def test_bulk_post_answers_count_and_uses_the_newest(device, owner):
    items = [
        {"lat": 1, "lon": 1, "timestamp": "2026-01-01T03:00:00Z"},
        {"lat": 3, "lon": 3, "timestamp": "2026-01-01T05:00:00Z"},
        {"lat": 2, "lon": 2, "timestamp": "2026-01-01T04:00:00Z"},
    ]
    response = api_client(owner).post(f"{LOCATIONS}?target=d--{device.id:x}", items, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"count": 3}
    assert position(device) == (Decimal("3"), Decimal("3"))
    assert DeviceLocation.objects.filter(target=device.slug).count() == 3


def test_bulk_posts_that_fail_write_nothing(device, owner):
    client = api_client(owner)
    good = {"target": device.slug, "lat": 1, "lon": 1}
    cases = [
        ([good, {**good, "lat": 91}], 400),
        ([good, {**good, "lon": -180.5}], 400),
        ([good, {"target": device.slug, "lat": 1}], 400),
        ([good, {**good, "target": device.project.slug}], 400),
        ([good, {**good, "target": make_device(make_project()).slug}], 404),
        ([good, {**good, "timestamp": "not a time"}], 400),
    ]
    for items, expected in cases:
        response = client.post(LOCATIONS, items, format="json")
        assert response.status_code == expected, (items, response.content)
    assert DeviceLocation.objects.count() == 0
    assert position(device) == (None, None)


def test_operators_may_not_record_locations(device):
    operator = make_member(device.org, OPERATOR)
    response = api_client(operator).post(LOCATIONS, {"target": device.slug, "lat": 1, "lon": 1}, format="json")
    assert response.status_code == 403
    assert DeviceLocation.objects.count() == 0


def test_update_and_delete_keep_the_device_on_its_latest_location(device, owner):
    target = target_for_object(device)
    older = device_location_create(user=owner, target=target, lat=Decimal(1), lon=Decimal(1), timestamp=T0)
    newer = device_location_create(
        user=owner, target=target, lat=Decimal(2), lon=Decimal(2), timestamp=T0 + timedelta(hours=1)
    )
    client = api_client(owner)
    assert client.patch(f"{LOCATIONS}{newer.id}/", {"lat": 5}, format="json").status_code == 200
    assert position(device) == (Decimal(5), Decimal(2))
    assert client.delete(f"{LOCATIONS}{newer.id}/").status_code == 204
    assert position(device) == (Decimal(1), Decimal(1))
    assert client.patch(f"{LOCATIONS}{older.id}/", {"lat": 100}, format="json").status_code == 400


def test_filters(device, owner):
    target = target_for_object(device)
    for i in range(5):
        device_location_create(
            user=owner, target=target, lat=Decimal(i), lon=Decimal(i), timestamp=T0 + timedelta(hours=i)
        )
    client = api_client(owner)

    def lats(**params):
        return [row["lat"] for row in client.get(LOCATIONS, {"target": device.slug, **params}).json()["results"]]

    assert lats() == [0, 1, 2, 3, 4]
    assert lats(lastn=2) == [3, 4]
    assert lats(start="2026-01-01T01:00:00Z", end="2026-01-01T03:00:00Z") == [1, 2]
    assert lats(page_size=2) == [0, 1]


def test_data_block_locations_leave_the_device_alone(device, owner):
    block = DataBlock.objects.create(
        slug=slugs.block_slug(device.id, 1), title="Trip", org=device.org, device=device, block=1
    )
    response = api_client(owner).post(LOCATIONS, {"target": block.slug, "lat": 3, "lon": 4}, format="json")
    assert response.status_code == 201, response.content
    assert position(device) == (None, None)
    assert [row.lat for row in locations_for(user=owner, target=block)] == [Decimal(3)]


def test_bulk_post_query_count_does_not_grow_with_items(device, owner):
    client = api_client(owner)
    items = [{"lat": i, "lon": i, "timestamp": f"2026-01-01T0{i}:00:00Z"} for i in range(1, 6)]
    # authentication, the target, the permission, savepoint, insert, latest location, device update, release
    with assert_query_count(8):
        response = client.post(f"{LOCATIONS}?target={device.slug}", items, format="json")
    assert response.json() == {"count": 5}
