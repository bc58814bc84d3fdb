"""API throttles: per account, per device token, per organisation and per client address, each a 429 with
``Retry-After``; on local memory and on Redis (the cache every web process shares when REDIS_URL is set)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from server.apps.core.api import throttles
from server.apps.core.api.throttles import parse_rate, window_hit
from server.apps.core.testing import api_client, make_member, make_org
from server.apps.device.tests.factories import make_device, make_project
from server.apps.deviceauth.services import device_token_issue
from server.apps.org.roles import MEMBER

API = "/api/v1/"


@pytest.fixture
def rates(settings, monkeypatch):
    # The budgets count in fixed windows: the test's requests all fall in one (half a minute before its end), however
    # slowly the machine answers them, so a window's end never resets a count halfway through.
    monkeypatch.setattr(throttles, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))

    def set_rates(**rates):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    return set_rates


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"]


def test_parse_rate():
    assert parse_rate("600/m") == (600, 60)
    assert parse_rate("5/second") == (5, 1)
    assert parse_rate("1/d") == (1, 86400)
    assert parse_rate(None) is None


def test_window_hit_counts_to_the_limit_then_says_how_long_to_wait(cache_backend):
    now = 1_000_000.0 * 60 + 15  # 15 s into a minute
    assert [window_hit("probe", limit=2, period=60, now=now) for _ in range(2)] == [None, None]
    assert window_hit("probe", limit=2, period=60, now=now) == 45
    assert window_hit("probe", limit=2, period=60, now=now + 45) is None  # the next window


def test_per_account(db, rates, cache_backend):
    rates(user="3/m")
    org = make_org()
    first, second = make_member(org, MEMBER), make_member(org, MEMBER)
    client = api_client(first)
    assert [client.get(f"{API}org/").status_code for _ in range(3)] == [200] * 3
    assert_throttled(client.get(f"{API}org/"))
    assert api_client(second).get(f"{API}org/").status_code == 200


def test_per_organisation(db, rates, cache_backend):
    rates(org="4/m")
    org = make_org()
    first, second = make_member(org, MEMBER), make_member(org, MEMBER)
    outsider = make_member(make_org(), MEMBER)
    for member in (first, second, first, second):
        assert api_client(member).get(f"{API}project/").status_code == 200
    assert_throttled(api_client(second).get(f"{API}project/"))
    assert api_client(outsider).get(f"{API}project/").status_code == 200


def test_per_device_token(db, rates, cache_backend):
    rates(device="2/m", org="3/m")
    project = make_project()
    mine, other = make_device(project), make_device(project)
    member = make_member(project.org, MEMBER)

    def device_client(device) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"a-jwt {device_token_issue(user=member, device=device)}")
        return client

    assert [device_client(mine).get(f"{API}device/").status_code for _ in range(2)] == [200, 200]
    assert_throttled(device_client(mine).get(f"{API}device/"))
    # The other device has its own budget, but shares the organisation's, which the three requests have used up.
    assert_throttled(device_client(other).get(f"{API}device/"))


def test_per_client_address_without_credentials(db, rates):
    rates(anon="2/m")
    client = APIClient()
    assert [client.get(f"{API}server/").status_code for _ in range(2)] == [200, 200]
    assert_throttled(client.get(f"{API}server/"))
    assert_throttled(APIClient(REMOTE_ADDR="127.0.0.1").get(f"{API}server/"))
    assert APIClient(REMOTE_ADDR="10.0.0.9").get(f"{API}server/").status_code == 200


def test_behind_a_proxy_the_forwarded_address_counts(db, rates, settings):
    rates(anon="1/m")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert APIClient().get(f"{API}server/", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 200
    assert_throttled(APIClient().get(f"{API}server/", HTTP_X_FORWARDED_FOR="198.51.100.1"))
    assert APIClient().get(f"{API}server/", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200


def test_an_inactive_membership_does_not_count_against_its_organisation(db, rates):
    from server.apps.org.models import OrgMembership

    rates(org="1/m")
    org = make_org()
    former, current = make_member(org, MEMBER), make_member(org, MEMBER)
    OrgMembership.objects.filter(user=former).update(is_active=False)
    assert api_client(former).get(f"{API}org/").status_code == 200
    assert api_client(former).get(f"{API}org/").status_code == 200
    assert api_client(current).get(f"{API}org/").status_code == 200
    assert_throttled(api_client(current).get(f"{API}org/"))
