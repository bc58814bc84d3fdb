"""The device page's tabs, generated from the registry (``device/tabs.py``): every tab an app registers is served
by the one tab view and checked here without a test of its own: its page, scoped like the device page with a lenient
slug redirected, and shown in the tab bar to the roles its permission allows; and it must have its pinned query
count tested (``tab_cases.DeviceTabCases``, with the tab's own rows)."""

from __future__ import annotations

import pytest
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.test import Client
from django.urls import reverse
from django.utils.module_loading import autodiscover_modules

from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.testing import make_member, make_org
from server.apps.device.tabs import DeviceTab, device_tabs, register_device_tab, registry
from server.apps.device.tests.factories import make_device, make_project
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.org.roles import MEMBER, ROLE_CHOICES, STAFF
from server.apps.org.services import org_member_add

TABS = device_tabs()


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def device(db):
    return make_device(make_project(name="North basin"), label="Pump 7")


def tab_link(tab: DeviceTab, device) -> str:
    return f'href="{tab.url(device)}"'


def test_the_apps_register_their_tabs_in_order():
    names = [tab.name for tab in TABS]
    assert {"properties", "config", "notes", "locations"} <= set(names)
    assert names.index("properties") < names.index("config") < names.index("notes") < names.index("locations")
    assert [tab.order for tab in TABS] == sorted(tab.order for tab in TABS)


@pytest.mark.parametrize("tab", TABS, ids=lambda tab: tab.name)
def test_the_tab_is_served_with_the_device_header(device, tab):
    response = logged_in(device.org.created_by).get(tab.url(device))
    assert response.status_code == 200
    assert response.context["tab"] is tab
    assert response.context["device"] == device
    assert {"device/base.html", tab.template_name} <= {template.name for template in response.templates}
    content = response.content.decode()
    assert f"<title>{tab.label} · Pump 7" in content
    # The tab bar marks this tab as the page's, and leads back to the overview.
    assert f'active" aria-current="page" {tab_link(tab, device)}' in content
    assert reverse("device:detail", kwargs={"org_slug": device.org.slug, "device_slug": device.slug}) in content


@pytest.mark.parametrize("tab", TABS, ids=lambda tab: tab.name)
def test_the_tab_is_scoped_like_the_device_page(device, tab):
    path = tab.url(device)
    owner = logged_in(device.org.created_by)
    short = f"d--{device.id:x}"  # the id in hex without its leading zeros, whatever its size
    response = owner.get(path.replace(device.slug, short))
    assert (response.status_code, response.url) == (302, path)
    stranger = make_org()
    assert logged_in(stranger.created_by).get(path).status_code == 404
    # The device under another organisation's slug, even one the user belongs to, is not there.
    org_member_add(org=stranger, user=device.org.created_by, role=MEMBER)
    assert owner.get(path.replace(f"/org/{device.org.slug}/", f"/org/{stranger.slug}/")).status_code == 404
    response = Client().get(path)
    assert response.status_code == 302
    assert f"{REDIRECT_FIELD_NAME}=" in response.url


@pytest.mark.parametrize("tab", TABS, ids=lambda tab: tab.name)
@pytest.mark.parametrize("role", [code for code, _ in ROLE_CHOICES if code != STAFF])
def test_the_tab_bar_shows_the_tab_to_the_roles_its_permission_allows(device, tab, role):
    member = make_member(device.org, role)
    overview = logged_in(member).get(reverse("device:detail", args=[device.org.slug, device.slug]))
    assert overview.status_code == 200
    # What the API's permission check says, not what the page's own abilities say.
    allowed = tab.permission is None or user_has_org_permission(member, device.org, permission_for(*tab.permission))
    assert (tab_link(tab, device) in overview.content.decode()) is allowed


@pytest.mark.parametrize("tab", TABS, ids=lambda tab: tab.name)
def test_the_tab_has_its_query_count_pinned(tab):
    # The tabs' own tests live in their apps (tests/test_views.py), which a run of this file alone has not imported.
    autodiscover_modules("tests.test_views")
    pinned = {cases.tab.name for cases in DeviceTabCases.__subclasses__()}
    assert tab.name in pinned, f"the {tab.name} tab needs a DeviceTabCases class in its app's tests/test_views.py"


def test_a_tab_takes_a_free_name_once():
    tab = registry["properties"]
    assert register_device_tab(tab) is tab
    before = dict(registry)
    fields = {"label": "X", "icon": "x", "template_name": "x.html", "context": dict, "queries": 0}
    with pytest.raises(ValueError, match="registered twice"):
        register_device_tab(DeviceTab(name="properties", **fields))
    with pytest.raises(ValueError, match="uses that name itself"):
        register_device_tab(DeviceTab(name="edit", **fields))
    with pytest.raises(ValueError, match="URL segment"):
        register_device_tab(DeviceTab(name="Two words", **fields))
    assert registry == before
