"""The ``broker`` command against a live server, run as a user runs it (``python -m server.cli.broker`` in its own
process, over HTTP): users and their tokens mapped onto accounts, memberships and device keys, JSON by default,
``--plain``, progress on stderr, and refusals as exit status 1 with the platform's answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from server.apps.core.testing import make_member, make_org, make_user
from server.apps.device.tests.factories import make_device, make_project
from server.apps.deviceauth.models import DeviceKey
from server.apps.org.models import OrgMembership
from server.apps.org.roles import ADMIN, OPERATOR

pytestmark = pytest.mark.live

PASSWORD = "live-pass-word-123"
REPO = Path(__file__).resolve().parents[3]


def broker(live_server, *args: str, token: str | None = None, email: str | None = None, **env: str):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    environment.update(BROKER_URL=live_server.url, **env)
    if token:
        environment["BROKER_TOKEN"] = token
    if email:
        environment.update(BROKER_EMAIL=email, BROKER_PASSWORD=PASSWORD)
    return subprocess.run(
        [sys.executable, "-m", "server.cli.broker", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(result) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def org(transactional_db):
    return make_org(owner=make_user(password=PASSWORD))


def test_users_add_list_disable_enable_and_remove(live_server, org):
    owner = org.created_by.email
    added = ok(
        broker(live_server, "--org", org.slug, "users", "add", "-u", "reader@example.com", "-p", PASSWORD, email=owner)
    )
    assert (added["email"], added["role"], added["is_active"]) == ("reader@example.com", OPERATOR, True)
    ok(
        broker(
            live_server, "--org", org.slug, "users", "add", "-u", "admin@example.com", "-p", PASSWORD, "-a", email=owner
        )
    )
    ok(
        broker(
            live_server, "--org", org.slug, "users", "add", "-u", "later@example.com", "-p", PASSWORD, "-d", email=owner
        )
    )
    roles = dict(OrgMembership.objects.filter(org=org).values_list("user__email", "role"))
    assert roles == {
        owner: "a0",
        "reader@example.com": OPERATOR,
        "admin@example.com": ADMIN,
        "later@example.com": OPERATOR,
    }
    assert not OrgMembership.objects.get(user__email="later@example.com").is_active

    listed = ok(broker(live_server, "--org", org.slug, "users", "ls", email=owner))
    assert {member["email"] for member in listed} >= {owner, "reader@example.com", "admin@example.com"}

    def active() -> bool:
        return OrgMembership.objects.get(org=org, user__email="reader@example.com").is_active

    ok(broker(live_server, "--org", org.slug, "users", "token", "-u", "reader@example.com", "--disable", email=owner))
    assert not active()
    ok(broker(live_server, "--org", org.slug, "users", "token", "-u", "reader@example.com", "--enable", email=owner))
    assert active()
    ok(broker(live_server, "--org", org.slug, "users", "rm", "-u", "reader@example.com", email=owner))
    assert not active()

    # A read-only member may not add anyone: 403, exit status 1, the platform's answer on stderr.
    reader = make_member(org, OPERATOR, password=PASSWORD)
    refused = broker(
        live_server, "--org", org.slug, "users", "add", "-u", "x@example.com", "-p", PASSWORD, email=reader.email
    )
    assert refused.returncode == 1
    assert "HTTP 403" in refused.stderr
    assert not OrgMembership.objects.filter(user__email="x@example.com").exists()


def test_token_refresh_revokes_the_old_one(live_server, org):
    user = org.created_by
    old = requests.post(f"{live_server.url}/api/v1/auth/login/", json={"email": user.email, "password": PASSWORD})
    old_token = old.json()["token"]
    fresh = ok(broker(live_server, "users", "token", "-u", user.email, "-p", PASSWORD, "--refresh", token=old_token))
    assert fresh["token"] != old_token

    def status(token: str) -> int:
        headers = {"Authorization": f"Token {token}"}
        return requests.get(f"{live_server.url}/api/v1/auth/user-info/", headers=headers, timeout=10).status_code

    assert status(old_token) == 401
    assert status(fresh["token"]) == 200
    # A bad token is refused with the platform's 401.
    refused = broker(live_server, "--org", org.slug, "users", "ls", token="not-a-token")
    assert (refused.returncode, "HTTP 401" in refused.stderr) == (1, True)


def test_device_tokens_get_refresh_and_disable(live_server, org):
    device = make_device(make_project(org))
    staff = make_user(password=PASSWORD, is_staff=True)
    token = ok(broker(live_server, "devtoken", "get", "--device", device.slug, email=org.created_by.email))["key"]

    def status(value: str) -> int:
        headers = {"Authorization": f"a-jwt {value}"}
        return requests.get(f"{live_server.url}/api/v1/device/{device.slug}/", headers=headers, timeout=10).status_code

    assert status(token) == 200
    ok(broker(live_server, "devtoken", "refresh", "--device", device.slug, email=staff.email))
    assert status(token) == 401
    token = ok(broker(live_server, "devtoken", "get", "--device", device.slug, email=org.created_by.email))["key"]
    ok(broker(live_server, "devtoken", "disable", "--device", device.slug, email=staff.email))
    assert status(token) == 401
    assert not DeviceKey.objects.filter(device=device, type="a-jwt").exists()
    # Only staff manage device keys.
    refused = broker(live_server, "devtoken", "refresh", "--device", device.slug, email=org.created_by.email)
    assert refused.returncode == 1


def test_listings_show_progress_on_stderr(live_server, org):
    for _ in range(4):
        make_member(org, OPERATOR)
    result = broker(live_server, "--org", org.slug, "users", "ls", email=org.created_by.email, BROKER_PAGE_SIZE="2")
    assert len(ok(result)) == 5
    assert "users ls: 4/5" in result.stderr
    assert "users ls: 5/5" in result.stderr


def test_usage_errors_exit_2(live_server, org):
    result = broker(live_server, "map", "start", "--puid", "1")
    assert result.returncode == 2
    assert "--luid" in result.stderr
