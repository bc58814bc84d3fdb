from __future__ import annotations

from urllib.parse import quote

import pytest

from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_org
from server.apps.device.services import device_unclaim
from server.apps.device.tests.factories import make_device, make_project
from server.apps.fleet.models import Fleet, FleetMembership
from server.apps.fleet.services import fleet_device_register
from server.apps.fleet.tests.factories import make_fleet, ota_manager
from server.apps.org.roles import DEVELOPER, OPERATOR, OWNER

FLEETS = "/api/v1/fleet/"


def _org_device(org):
    return make_device(make_project(org))


class TestFleetEndpoint(ScopedEndpointCases):
    list_url = FLEETS
    list_key = "slug"
    list_query_count = 3
    allowed_role = DEVELOPER
    denied_role = OWNER  # owners read fleets; changing them is OTA management
    read_role = OPERATOR
    created_model = Fleet
    stored_as = {"org": "org.slug"}

    def make_object(self, org):
        return make_fleet(org, devices=[_org_device(org)])

    def detail_url(self, obj) -> str:
        return f"{FLEETS}{obj.slug}/"

    def write_data(self, obj) -> dict:
        return {"name": "Renamed", "description": "North field", "is_network": True}

    def create_data(self, org) -> dict:
        return {"name": f"New fleet {org.pk}", "org": org.slug, "is_network": True, "description": "Gateways"}


class TestFleetMembersEndpoint(ScopedEndpointCases):
    """``fleet/<g>/devices/`` lists members; ``fleet/<g>/register/`` adds one (the create)."""

    list_key = "device"
    list_query_count = 4
    write_method = None
    allowed_role = DEVELOPER
    read_role = OPERATOR
    denied_role = OWNER
    created_model = FleetMembership
    expected_create_status = (200,)
    create_outsider_status = (404,)
    stored_as = {"device": "device.slug"}

    def make_object(self, org):
        fleet = Fleet.objects.filter(org=org).first() or make_fleet(org)
        return fleet_device_register(user=ota_manager(org), fleet=fleet, device=_org_device(org), always_on=True)

    def detail_url(self, obj) -> None:
        return None

    def get_list_url(self, obj) -> str:
        return f"{FLEETS}{obj.fleet.slug}/devices/"

    def list_key_value(self, obj) -> str:
        return obj.device.slug

    def create_data(self, org) -> dict:
        return {"device": _org_device(org).slug, "is_access_point": True, "always_on": True}

    def create_url(self, org) -> str:
        return f"{FLEETS}{Fleet.objects.filter(org=org).first().slug}/register/"


@pytest.fixture
def org(db):
    return make_org()


def test_devices_list_reads_as_the_client_expects_with_pinned_queries(org):
    devices = [_org_device(org) for _ in range(3)]
    fleet = make_fleet(org, devices=[(devices[0], True, True), devices[1], (devices[2], False, True)])
    client = api_client(ota_manager(org))
    with assert_query_count(4):  # authentication, the fleet, the count, the page
        response = client.get(f"{FLEETS}{fleet.slug}/devices/")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"device": devices[0].slug, "is_access_point": True, "always_on": True},
        {"device": devices[1].slug, "is_access_point": False, "always_on": False},
        {"device": devices[2].slug, "is_access_point": False, "always_on": True},
    ]


def test_fleets_of_a_device_and_lenient_lookups(org):
    device = _org_device(org)
    network = make_fleet(org, "Network", is_network=True, devices=[device])
    make_fleet(org, "Other", devices=[_org_device(org)])
    client = api_client(ota_manager(org))
    listed = client.get(FLEETS, {"device": device.slug}).json()["results"]
    assert [(row["id"], row["slug"], row["is_network"], row["device_count"]) for row in listed] == [
        (network.id, network.slug, True, 1)
    ]
    short = network.slug.replace("0000-", "").upper().replace("G--", "g--")
    for value in (short, str(network.id)):
        assert client.get(f"{FLEETS}{value}/").json()["slug"] == network.slug
    assert client.get(FLEETS, {"device": "d--zz"}).status_code == 400
    assert client.get(f"{FLEETS}g--zz/").status_code == 404
    # The id in Arabic-Indic digits is no id: int() would read it as the same number.
    arabic = "".join(chr(0x0660 + int(digit)) for digit in str(network.id))
    assert client.get(f"{FLEETS}{quote(arabic)}/").status_code == 404


def test_register_sets_flags_and_deregister_removes(org):
    device = _org_device(org)
    fleet = make_fleet(org)
    client = api_client(ota_manager(org))
    url = f"{FLEETS}{fleet.slug}/"
    assert client.post(f"{url}register/", {"device": device.slug}, format="json").status_code == 200
    response = client.post(f"{url}register/", {"device": device.slug, "is_access_point": True}, format="json")
    assert response.json() == {"device": device.slug, "is_access_point": True, "always_on": False}
    assert list(FleetMembership.objects.values_list("device_id", "is_access_point")) == [(device.id, True)]
    assert client.post(f"{url}deregister/", {"device": device.slug}, format="json").status_code == 204
    assert not FleetMembership.objects.exists()


def test_register_refuses_devices_of_other_orgs_and_bad_input(org):
    fleet = make_fleet(org)
    client = api_client(ota_manager(org))
    foreign = _org_device(make_org())
    for body in (
        {"device": foreign.slug},
        {"device": "not-a-slug"},
        {},
        {"device": _org_device(org).slug, "always_on": "x"},
    ):
        response = client.post(f"{FLEETS}{fleet.slug}/register/", body, format="json")
        assert response.status_code == 400, (body, response.content)
    assert not FleetMembership.objects.exists()


def test_name_unique_per_org(org):
    make_fleet(org, "Barn")
    client = api_client(ota_manager(org))
    response = client.post(FLEETS, {"name": "Barn", "org": org.slug}, format="json")
    assert response.status_code == 409
    assert Fleet.objects.filter(org=org).count() == 1


def test_an_unclaimed_device_leaves_its_fleets(org):
    device = _org_device(org)
    fleet = make_fleet(org, devices=[device])
    device_unclaim(device=device)
    client = api_client(ota_manager(org))
    assert client.get(f"{FLEETS}{fleet.slug}/devices/").json()["count"] == 0
    assert client.get(FLEETS, {"device": device.slug}).json()["count"] == 0
