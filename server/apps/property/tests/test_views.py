"""The device page's properties tab: the list, adding, changing and deleting, scoped like the API."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.targets import target_for_object
from server.apps.core.testing import make_member, make_org
from server.apps.device.tests.factories import make_device, make_project
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.property.models import GenericProperty
from server.apps.property.services import property_create, property_template_create
from server.apps.property.tabs import PROPERTIES_TAB


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(device, name: str = "", org=None, **kwargs) -> str:
    """The tab (``device:properties``), or one of its forms by name."""
    org = org or device.org
    return reverse(
        f"property:{name}" if name else "device:properties",
        kwargs={"org_slug": org.slug, "device_slug": device.slug, **kwargs},
    )


@pytest.fixture
def device(db):
    return make_device(make_project(name="North basin"), label="Pump 7")


def add_property(device, name="site", value="Quay 4"):
    return property_create(user=device.org.created_by, target=target_for_object(device), name=name, value=value)


def test_the_tab_lists_the_devices_properties(device):
    add_property(device)
    add_property(device, "depth", 12)
    other = make_device(device.project)
    add_property(other, "site", "elsewhere")
    response = logged_in(device.org.created_by).get(url(device))
    assert response.status_code == 200
    assert [p.name for p in response.context["properties"]] == ["depth", "site"]
    content = response.content.decode()
    assert "Quay 4" in content
    assert "elsewhere" not in content
    assert response.context["property_form"] is not None
    assert 'data-testid="device-tabs"' in content


def test_adding_a_property_types_it_from_the_value(device):
    client = logged_in(device.org.created_by)
    response = client.post(url(device, "create"), {"name": "depth", "value": "12", "type": ""})
    assert response.status_code == 302
    assert response.url == url(device)
    prop = GenericProperty.objects.get(target=device.slug, name="depth")
    assert (prop.type, prop.value, prop.created_by) == ("int", 12, device.org.created_by)
    client.post(url(device, "create"), {"name": "serviced", "value": "true", "type": ""})
    assert GenericProperty.objects.get(target=device.slug, name="serviced").value is True
    # Digits other than 0-9 (a superscript two, Arabic-Indic digits) are text, not a number or a server error.
    for name, value in (("squared", "\u00b2"), ("arabic", "\u0661\u0662")):
        response = client.post(url(device, "create"), {"name": name, "value": value, "type": ""})
        assert response.status_code == 302
        prop = GenericProperty.objects.get(target=device.slug, name=name)
        assert (prop.type, prop.value) == ("str", value)


def test_service_errors_show_on_the_form_and_nothing_is_written(device):
    add_property(device)
    client = logged_in(device.org.created_by)
    response = client.post(url(device, "create"), {"name": "site", "value": "again", "type": ""})
    assert response.status_code == 200
    assert "already has a property named" in str(response.context["property_form"].errors)
    property_template_create(user=device.org.created_by, org=device.org, name="colour", enums=["red", "blue"])
    response = client.post(url(device, "create"), {"name": "colour", "value": "green", "type": ""})
    assert "use one of: blue, red" in str(response.context["property_form"].errors)
    response = client.post(url(device, "create"), {"name": "n", "value": "x", "type": "int"})
    assert "not an integer" in str(response.context["property_form"].errors)
    assert GenericProperty.objects.filter(target=device.slug).count() == 1


def test_editing_and_deleting(device):
    prop = add_property(device, "depth", 12)
    client = logged_in(device.org.created_by)
    response = client.post(url(device, "edit", property_id=prop.pk), {"name": "depth", "value": "14", "type": "int"})
    assert response.status_code == 302
    prop.refresh_from_db()
    assert prop.value == 14
    response = client.post(url(device, "edit", property_id=prop.pk), {"name": "depth", "value": "deep", "type": "int"})
    assert response.status_code == 200
    assert response.context["edit_property_id"] == prop.pk
    assert "not an integer" in response.content.decode()
    prop.refresh_from_db()
    assert prop.value == 14
    assert client.post(url(device, "delete", property_id=prop.pk)).status_code == 302
    assert not GenericProperty.objects.filter(pk=prop.pk).exists()


def test_roles_and_scope(device):
    prop = add_property(device)
    member = make_member(device.org, MEMBER)
    assert logged_in(member).post(url(device, "create"), {"name": "a", "value": "1"}).status_code == 302
    # Operators read no properties: the tab is hidden, the list empty, and writes are refused.
    operator = logged_in(make_member(device.org, OPERATOR))
    response = operator.get(url(device))
    assert response.status_code == 200
    assert not response.context["properties"]
    assert "property_form" not in response.context
    assert "Your role does not show properties." in response.content.decode()
    assert operator.post(url(device, "create"), {"name": "b", "value": "1"}).status_code == 403
    assert operator.post(url(device, "delete", property_id=prop.pk)).status_code == 404
    # Another organisation, or the device under another organisation's slug: 404.
    stranger = make_org()
    outsider = logged_in(stranger.created_by)
    assert outsider.get(url(device)).status_code == 404
    assert outsider.post(url(device, "create"), {"name": "c", "value": "1"}).status_code == 404
    assert outsider.post(url(device, "delete", property_id=prop.pk)).status_code == 404
    assert logged_in(device.org.created_by).get(url(device, org=stranger)).status_code == 404
    # A property of another device is not this device's.
    other = add_property(make_device(device.project), "x", "1")
    assert logged_in(device.org.created_by).post(url(device, "delete", property_id=other.pk)).status_code == 404
    assert GenericProperty.objects.filter(pk__in=[prop.pk, other.pk]).count() == 2
    assert Client().get(url(device)).status_code == 302


def test_a_lenient_slug_redirects(device):
    short = f"d--{device.id:x}"  # the id in hex without its leading zeros, whatever its size
    response = logged_in(device.org.created_by).get(url(device).replace(device.slug, short))
    assert response.status_code == 302
    assert response.url == url(device)


class TestPropertiesTab(DeviceTabCases):
    tab = PROPERTIES_TAB

    def add_rows(self, device, count):
        for number in range(count):
            add_property(device, f"p{number}", number)

    def rows_in(self, response):
        return response.context["properties"].paginator.count
