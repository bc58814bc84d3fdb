"""The device page's configuration tab: the attributes that apply and where each comes from; setting and removing
the device's own."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.configattribute.models import ConfigAttribute
from server.apps.configattribute.tabs import CONFIG_TAB
from server.apps.configattribute.tests.factories import config_name, set_config
from server.apps.core.testing import make_member, make_org
from server.apps.device.tests.factories import make_device, make_project
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.org.roles import MEMBER, OPERATOR


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(device, name: str = "", org=None, **kwargs) -> str:
    """The tab (``device:config``), or one of its forms by name."""
    org = org or device.org
    return reverse(
        f"configattribute:{name}" if name else "device:config",
        kwargs={"org_slug": org.slug, "device_slug": device.slug, **kwargs},
    )


@pytest.fixture
def device(db):
    return make_device(make_project(name="North basin"), label="Pump 7")


def test_each_name_shows_the_value_that_applies_and_its_level(device):
    owner = device.org.created_by
    set_config(device.org, ":report:summary", {"every": "day"})
    set_config(device.project, ":report:summary", {"every": "hour"})
    set_config(device.org, ":alarm:level", 5)
    set_config(owner, ":ui:theme", "dark")
    set_config(device, ":alarm:level", 7)
    response = logged_in(owner).get(url(device))
    assert response.status_code == 200
    shown = {row.attribute.name.name: (row.attribute.data, row.level) for row in response.context["attributes"]}
    assert shown == {
        ":alarm:level": (7, "This device"),
        ":report:summary": ({"every": "hour"}, "Project"),
        ":ui:theme": ("dark", "You"),
    }
    assert response.context["config_form"] is not None


def test_setting_overriding_and_removing_at_the_device_level(device):
    owner = device.org.created_by
    set_config(device.project, ":report:summary", {"every": "hour"})
    client = logged_in(owner)
    response = client.post(url(device, "set"), {"name": ":report:summary", "data": '{"every": "minute"}'})
    assert response.status_code == 302
    attribute = ConfigAttribute.objects.get(target=device.slug)
    assert attribute.data == {"every": "minute"}
    client.post(url(device, "set"), {"name": ":report:summary", "data": "[1, 2]"})
    attribute.refresh_from_db()
    assert attribute.data == [1, 2]
    assert ConfigAttribute.objects.filter(target=device.slug).count() == 1
    response = client.post(url(device, "set"), {"name": ":report:summary", "data": "{not json"})
    assert response.status_code == 200
    assert response.context["config_form"].errors["data"]
    response = client.post(url(device, "set"), {"name": ":nope", "data": "1"})
    assert response.context["config_form"].errors["name"]
    assert client.post(url(device, "delete", attribute_id=attribute.pk)).status_code == 302
    assert not ConfigAttribute.objects.filter(target=device.slug).exists()
    # The project's value cannot be removed from the device's tab.
    project_value = ConfigAttribute.objects.get(target=device.project.slug)
    assert client.post(url(device, "delete", attribute_id=project_value.pk)).status_code == 404


def test_roles_and_scope(device):
    config_name(":alarm:level")
    mine = set_config(device, ":alarm:level", 1)
    member = logged_in(make_member(device.org, MEMBER))
    assert member.post(url(device, "set"), {"name": ":alarm:level", "data": "2"}).status_code == 302
    operator = logged_in(make_member(device.org, OPERATOR))
    response = operator.get(url(device))
    assert response.status_code == 200
    assert "config_form" not in response.context
    assert operator.post(url(device, "set"), {"name": ":alarm:level", "data": "3"}).status_code == 403
    assert operator.post(url(device, "delete", attribute_id=mine.pk)).status_code == 403
    outsider = logged_in(make_org().created_by)
    assert outsider.get(url(device)).status_code == 404
    assert outsider.post(url(device, "set"), {"name": ":alarm:level", "data": "4"}).status_code == 404
    assert ConfigAttribute.objects.get(pk=mine.pk).data == 2


class TestConfigTab(DeviceTabCases):
    tab = CONFIG_TAB

    def add_rows(self, device, count):
        for number in range(count):
            set_config(device, f":name:n{number}", number)

    def rows_in(self, response):
        return len(response.context["attributes"])
