"""Owners set a device's expected period and recipients: the device page's health tab and ``health/<d-->/``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member, make_org
from server.apps.device.tests.factories import make_device, make_project
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.health.models import DeviceHealth, HealthStatus
from server.apps.health.services import device_health_check
from server.apps.health.tabs import HEALTH_TAB
from server.apps.operation.models import DevicePresence
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR

HEALTH = "/api/v1/health/"


def watched_device(org=None, **fields):
    device = make_device(make_project(org))
    DeviceHealth.objects.create(device=device, **fields)
    return device


class TestHealthEndpoint(ScopedEndpointCases):
    list_url = HEALTH
    list_key = "device"
    list_query_count = 3
    denied_role = MEMBER
    stored_as = {
        "period": lambda health: int(health.period.total_seconds()),
        "recipients": "recipient_list",
    }

    def make_object(self, org):
        return DeviceHealth.objects.get(device=watched_device(org))

    def list_key_value(self, obj) -> str:
        return obj.device.slug

    def detail_url(self, obj) -> str:
        return f"{HEALTH}{obj.device.slug}/"

    def write_data(self, obj) -> dict:
        return {"period": 7200, "recipients": ["ops@example.com", "night@example.com"]}


class TestHealthTab(DeviceTabCases):
    tab = HEALTH_TAB

    def add_rows(self, device, count: int) -> None:
        recipients = "\n".join(f"ops{i}@example.com" for i in range(count))
        DeviceHealth.objects.create(device=device, recipients=recipients)

    def rows_in(self, response) -> int:
        return len(response.context["health"].recipient_list)


def tab_url(device, suffix: str = "") -> str:
    return HEALTH_TAB.url(device) + suffix


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_form_sets_the_period_and_recipients_that_the_check_uses(db, django_capture_on_commit_callbacks):
    device = make_device(make_project())
    owner = device.org.created_by
    page = logged_in(owner).get(tab_url(device))
    # No row yet: the defaults, and nothing written by a read.
    assert page.context["health_form"].initial == {"period_minutes": 60, "recipients": ""}
    assert not DeviceHealth.objects.exists()
    body = {"period_minutes": "15", "recipients": "ops@example.com\n\n night@example.com \nops@example.com"}
    response = logged_in(owner).post(tab_url(device, "settings/"), body)
    assert response.status_code == 302
    health = DeviceHealth.objects.get(device=device)
    assert health.period == timedelta(minutes=15)
    assert health.recipient_list == ["ops@example.com", "night@example.com"]
    assert health.status == HealthStatus.UNK

    # The check uses them: quiet for 20 minutes is a failure now, told once to both.
    now = timezone.now()
    DevicePresence.objects.create(device=device, last_seen=now - timedelta(minutes=20))
    with django_capture_on_commit_callbacks(execute=True):
        device_health_check(now=now)
    assert DeviceHealth.objects.get(device=device).status == HealthStatus.FAIL
    assert [message.to for message in mail.outbox] == [["ops@example.com", "night@example.com"]]


def test_bad_settings_show_the_form_again(db):
    device = watched_device(recipients="keep@example.com")
    client = logged_in(device.org.created_by)
    response = client.post(tab_url(device, "settings/"), {"period_minutes": "15", "recipients": "not an address"})
    assert response.status_code == 200
    assert response.context["health_form"].errors["recipients"]
    response = client.post(tab_url(device, "settings/"), {"period_minutes": "0", "recipients": ""})
    assert response.context["health_form"].errors["period_minutes"]
    assert DeviceHealth.objects.get(device=device).recipients == "keep@example.com"


def test_roles_and_other_organisations(db):
    device = watched_device()
    org = device.org
    admin = logged_in(make_member(org, ADMIN))
    assert admin.post(tab_url(device, "settings/"), {"period_minutes": "30", "recipients": ""}).status_code == 302
    member = logged_in(make_member(org, MEMBER))
    assert "health_form" not in member.get(tab_url(device)).context
    assert member.post(tab_url(device, "settings/"), {"period_minutes": "5", "recipients": ""}).status_code == 403
    outsider = logged_in(make_org().created_by)
    assert outsider.get(tab_url(device)).status_code == 404
    assert outsider.post(tab_url(device, "settings/"), {"period_minutes": "5", "recipients": ""}).status_code == 404
    assert DeviceHealth.objects.get(device=device).period == timedelta(minutes=30)


@pytest.mark.parametrize(
    "body",
    [
        {"period": 0},
        {"period": 10**9},
        {"period": "soon"},
        {"recipients": ["nope"]},
        {"recipients": "ops@example.com"},
        {"recipients": [f"ops{i}@example.com" for i in range(21)]},
    ],
)
def test_bad_api_settings_are_400(db, body):
    device = watched_device()
    response = api_client(device.org.created_by).patch(f"{HEALTH}{device.slug}/", body, format="json")
    assert response.status_code == 400, response.content
    health = DeviceHealth.objects.get(device=device)
    assert (health.period, health.recipients) == (timedelta(hours=1), "")


def test_a_device_not_yet_checked_shows_the_defaults_and_a_patch_creates_its_row(db):
    device = make_device(make_project())
    client = api_client(device.org.created_by)
    body = client.get(f"{HEALTH}{device.slug}/").json()
    assert body == {
        "device": device.slug,
        "status": "UNK",
        "status_label": "Unknown",
        "changed_on": None,
        "period": 3600,
        "recipients": [],
    }
    assert client.patch(f"{HEALTH}{device.slug}/", {"period": 600}, format="json").json()["period"] == 600
    assert DeviceHealth.objects.get(device=device).period == timedelta(minutes=10)
    assert api_client(make_member(device.org, OPERATOR)).get(f"{HEALTH}{device.slug}/").status_code == 200
    assert client.get(f"{HEALTH}d--ffff-ffff-ffff-ffff/").status_code == 404
    assert client.get(f"{HEALTH}nonsense/").status_code == 404
