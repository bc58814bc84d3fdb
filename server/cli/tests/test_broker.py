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


def test_physical_and_logical_devices_and_mappings(live_server, org):
    from server.apps.telemetry.models import DeviceMapping, LogicalDevice, PhysicalDevice

    owner = org.created_by.email
    project = make_project(org)

    def run(*args: str, email: str = owner):
        return broker(live_server, *args, email=email)

    sensor = {
        "name": "Tank sensor",
        "project": project.slug,
        "source_name": "ttn",
        "source_ids": {"dev_eui": "70b3d57ed005a1b2"},
        "properties": {"vendor": "acme"},
    }
    pd = ok(run("pd", "create", "--json", json.dumps(sensor)))
    puid = pd["uid"]
    assert PhysicalDevice.objects.get(device_id=puid).source_ids == {"dev_eui": "70b3d57ed005a1b2"}
    got = ok(run("pd", "get", "--puid", str(puid)))
    assert got["name"] == "Tank sensor"
    assert "properties" not in got
    assert ok(run("pd", "get", "--puid", str(puid), "--properties"))["properties"] == {"vendor": "acme"}
    assert [d["uid"] for d in ok(run("pd", "lum"))] == [puid]
    assert [d["uid"] for d in ok(run("pd", "ls", "--source", "ttn"))] == [puid]
    assert ok(run("pd", "ls", "--source", "http")) == []

    ld = ok(run("ld", "create", "--json", json.dumps({"name": "Tank 3", "project": project.slug})))
    luid = ld["uid"]
    mapping = ok(run("map", "start", "--puid", str(puid), "--luid", str(luid)))
    assert (mapping["pd"], mapping["ld"], mapping["end"]) == (puid, luid, None)
    assert ok(run("pd", "lum")) == []
    plain = run("pd", "ls", "--plain")
    assert plain.returncode == 0
    assert f"{puid: >6}   Tank sensor" in plain.stdout
    assert f"--> {luid: >6}" in plain.stdout

    ok(run("map", "toggle", "--puid", str(puid), "--disable"))
    assert not DeviceMapping.objects.get(physical_device__device_id=puid).is_active
    assert "(paused)" in run("pd", "ls", "--plain").stdout
    ok(run("map", "toggle", "--luid", str(luid), "--enable"))
    assert DeviceMapping.objects.get(physical_device__device_id=puid).is_active
    ok(run("map", "end", "--puid", str(puid)))
    history = ok(run("map", "ls", "--puid", str(puid)))
    assert len(history) == 1
    assert history[0]["end"] is not None
    # A mapping already ended cannot be ended again: the platform's 404, exit status 1.
    assert run("map", "end", "--puid", str(puid)).returncode == 1

    copied = ok(run("ld", "cpd", "--puid", str(puid), "--map"))
    assert copied["name"] == "Tank sensor"
    assert DeviceMapping.objects.filter(logical_device_id=copied["uid"], end=None).count() == 1
    assert len(ok(run("map", "ls", "--puid", str(puid)))) == 2

    ok(run("pd", "up", "--puid", str(puid), "--json", json.dumps({"uid": 999, "name": "Renamed"})))
    assert PhysicalDevice.objects.get(device_id=puid).device.label == "Renamed"
    ok(run("ld", "up", "--luid", str(luid), "--json", json.dumps({"name": "Tank 3b"})))
    assert LogicalDevice.objects.get(pk=luid).name == "Tank 3b"
    assert {d["uid"] for d in ok(run("ld", "ls"))} == {luid, copied["uid"]}
    assert "Tank 3b" in run("ld", "ls", "--plain").stdout

    # Read-only: reads work, writes are the platform's 403.
    reader = make_member(org, OPERATOR, password=PASSWORD)
    assert ok(run("ld", "get", "--luid", str(luid), email=reader.email))["uid"] == luid
    refused = run("ld", "rm", "--luid", str(luid), email=reader.email)
    assert refused.returncode == 1
    assert "HTTP 403" in refused.stderr

    ok(run("ld", "rm", "--luid", str(luid)))
    assert not LogicalDevice.objects.filter(pk=luid).exists()
    ok(run("pd", "rm", "--puid", str(puid)))
    assert not PhysicalDevice.objects.filter(device_id=puid).exists()
    # Stdin works for --file -.
    result = subprocess.run(
        [sys.executable, "-m", "server.cli.broker", "ld", "create", "--file", "-"],
        input=json.dumps({"name": "From stdin", "project": project.slug}),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BROKER_URL": live_server.url, "BROKER_EMAIL": owner, "BROKER_PASSWORD": PASSWORD},
    )
    assert json.loads(result.stdout)["name"] == "From stdin"
