"""Fleet pages: the organisation's fleets, creating one, a fleet's members, adding and removing devices."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import assert_query_count, make_member, make_org
from server.apps.device.tests.factories import make_device, make_project
from server.apps.fleet.models import Fleet, FleetMembership
from server.apps.fleet.tests.factories import make_fleet, ota_manager
from server.apps.org.roles import OPERATOR, OWNER


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fleet_url(fleet, name: str = "detail", org=None) -> str:
    return reverse(f"fleet:{name}", kwargs={"org_slug": (org or fleet.org).slug, "fleet_slug": fleet.slug})


def list_url(org, name: str = "list") -> str:
    return reverse(f"fleet:{name}", kwargs={"org_slug": org.slug})


@pytest.fixture
def org(db):
    return make_org()


def _devices(org, count):
    project = make_project(org)
    return [make_device(project, label=f"Pump {i}") for i in range(count)]


@pytest.mark.parametrize("fleets", [1, 4])
def test_the_list_has_pinned_queries(org, fleets):
    for i in range(fleets):
        make_fleet(org, f"Fleet {i}", devices=_devices(org, 2))
    client = logged_in(ota_manager(org))
    with assert_query_count(6):
        response = client.get(list_url(org))
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="fleet-list"') == 1
    assert b"fleet-form" in response.content


def test_create_needs_ota_management(org):
    response = logged_in(ota_manager(org)).post(list_url(org, "create"), {"name": "North", "is_network": "on"})
    fleet = Fleet.objects.get()
    assert response.status_code == 302
    assert response["Location"] == fleet_url(fleet)
    assert (fleet.name, fleet.is_network, fleet.org_id) == ("North", True, org.pk)
    owner = logged_in(make_member(org, OWNER))
    assert b"fleet-form" not in owner.get(list_url(org)).content
    assert owner.post(list_url(org, "create"), {"name": "South"}).status_code == 403
    assert Fleet.objects.count() == 1


@pytest.mark.parametrize("members", [1, 6])
def test_a_fleet_page_lists_members_with_pinned_queries(org, members):
    devices = _devices(org, members + 1)
    fleet = make_fleet(org, devices=[(devices[0], True, True), *devices[1:members]])
    client = logged_in(ota_manager(org))
    # session, account, fleet, role, member count, devices to add, the page of members
    with assert_query_count(7):
        response = client.get(fleet_url(fleet))
    body = response.content.decode()
    assert body.count("<tr data-device=") == members
    assert f'<option value="{devices[-1].slug}">' in body  # the device not in the fleet can be added


def test_add_and_remove_a_device(org):
    device, *_ = _devices(org, 1)
    fleet = make_fleet(org)
    client = logged_in(ota_manager(org))
    body = {"device": device.slug, "is_access_point": "on"}
    assert client.post(fleet_url(fleet, "register"), body).status_code == 302
    assert list(FleetMembership.objects.values_list("device_id", "is_access_point", "always_on")) == [
        (device.id, True, False)
    ]
    assert client.post(fleet_url(fleet, "deregister"), {"device": device.slug}).status_code == 302
    assert not FleetMembership.objects.exists()


def test_another_orgs_fleets_are_404_and_operators_may_not_change(org):
    fleet = make_fleet(org, devices=_devices(org, 1))
    outsider = logged_in(make_org().created_by)
    for url in (fleet_url(fleet), list_url(org)):
        assert outsider.get(url).status_code == 404
    assert outsider.post(fleet_url(fleet, "deregister"), {"device": "d--1"}).status_code == 404
    # The right fleet under another organisation's URL is a 404 too.
    other = make_org()
    assert logged_in(other.created_by).get(fleet_url(fleet, org=other)).status_code == 404
    operator = logged_in(make_member(org, OPERATOR))
    assert operator.get(fleet_url(fleet)).status_code == 200
    device = fleet.devices.get()
    assert operator.post(fleet_url(fleet, "deregister"), {"device": device.slug}).status_code == 403
    assert FleetMembership.objects.count() == 1


def test_adding_another_orgs_device_fails_on_the_form(org):
    fleet = make_fleet(org)
    foreign = _devices(make_org(), 1)[0]
    response = logged_in(ota_manager(org)).post(fleet_url(fleet, "register"), {"device": foreign.slug})
    assert response.status_code == 200  # the page again, with the form's error
    assert not FleetMembership.objects.exists()
