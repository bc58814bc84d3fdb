"""The device page's locations tab: the track drawn in the browser from the page's JSON, the latest locations, and
recording one."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.targets import target_for_object
from server.apps.core.testing import make_member, make_org
from server.apps.device.models import Device
from server.apps.device.tests.factories import T0, make_device, make_project
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.devicelocation.models import DeviceLocation
from server.apps.devicelocation.services import device_location_create
from server.apps.devicelocation.tabs import LOCATIONS_TAB
from server.apps.org.roles import OPERATOR


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(device, name: str = "", org=None) -> str:
    """The tab (``device:locations``), or one of its forms by name."""
    org = org or device.org
    return reverse(
        f"devicelocation:{name}" if name else "device:locations",
        kwargs={"org_slug": org.slug, "device_slug": device.slug},
    )


@pytest.fixture
def device(db):
    return make_device(make_project(name="North basin"), label="Pump 7")


def locate(device, count):
    for i in range(count):
        device_location_create(
            user=device.org.created_by,
            target=target_for_object(device),
            lat=Decimal("59.3") + Decimal(i) / 100,
            lon=Decimal("18.0") + Decimal(i) / 50,
            timestamp=T0 + timedelta(hours=i),
        )


def test_the_track_and_the_table(device, settings):
    settings.MAP_TILE_URL = ""
    locate(device, 3)
    response = logged_in(device.org.created_by).get(url(device))
    assert response.status_code == 200
    track = response.context["track"]
    assert [point["t"] for point in track] == ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"]
    assert track[-1] == {"t": "2026-01-01T02:00:00Z", "lat": 59.32, "lon": 18.04}
    content = response.content.decode()
    assert 'id="track-data"' in content
    assert 'data-tile-url=""' in content
    embedded = re.search(r'<script id="track-data" type="application/json">(.*?)</script>', content).group(1)
    assert json.loads(embedded) == track
    assert [loc.timestamp.hour for loc in response.context["locations"]] == [2, 1, 0]


def test_tiles_only_when_configured(device, settings):
    locate(device, 1)
    settings.MAP_TILE_URL = "http://tiles.invalid/{z}/{x}/{y}.png"
    content = logged_in(device.org.created_by).get(url(device)).content.decode()
    assert 'data-tile-url="http://tiles.invalid/{z}/{x}/{y}.png"' in content


def test_recording_a_location_moves_the_device(device):
    client = logged_in(device.org.created_by)
    response = client.post(url(device, "create"), {"lat": "59.5", "lon": "18.25"})
    assert response.status_code == 302
    device = Device.objects.get(pk=device.pk)
    assert (device.lat, device.lon) == (Decimal("59.5"), Decimal("18.25"))
    response = client.post(url(device, "create"), {"lat": "91", "lon": "0"})
    assert response.status_code == 200
    assert response.context["location_form"].errors["lat"]
    assert DeviceLocation.objects.count() == 1


def test_roles_and_scope(device):
    locate(device, 1)
    operator = logged_in(make_member(device.org, OPERATOR))
    response = operator.get(url(device))
    assert response.status_code == 200
    assert response.context["track"] == []
    assert "location_form" not in response.context
    assert operator.post(url(device, "create"), {"lat": "1", "lon": "1"}).status_code == 403
    outsider = logged_in(make_org().created_by)
    assert outsider.get(url(device)).status_code == 404
    assert outsider.post(url(device, "create"), {"lat": "1", "lon": "1"}).status_code == 404
    assert DeviceLocation.objects.count() == 1


class TestLocationsTab(DeviceTabCases):
    tab = LOCATIONS_TAB

    def add_rows(self, device, count):
        locate(device, count)

    def rows_in(self, response):
        return len(response.context["track"])
