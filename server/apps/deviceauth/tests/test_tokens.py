"""Requests with ``Authorization: a-jwt <token>``: the issuing user, narrowed to the token's device."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from server.apps.core.testing import api_client, assert_query_count, make_member
from server.apps.device.models import Device
from server.apps.device.services import device_unclaim
from server.apps.device.tests.factories import add_data, make_device, make_project, make_staff, make_stream
from server.apps.deviceauth.models import DeviceKey, DeviceKeyType
from server.apps.deviceauth.services import device_token_issue, device_token_key_rotate
from server.apps.deviceauth.tokens import DEVICE_TOKEN_LIFETIME, DeviceScope, device_token_encode
from server.apps.org.models import Org
from server.apps.org.roles import MEMBER
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData

API = "/api/v1/"


def device_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"a-jwt {token}")
    return client


@pytest.fixture
def setup(db):
    """A project with two devices and a stream each (with data), and a member holding a token for the first."""
    project = make_project()
    mine, other = make_device(project), make_device(project)
    mine_stream, other_stream = make_stream(mine), make_stream(other)
    add_data(mine_stream, 3)
    member = make_member(project.org, MEMBER)
    token = api_client(member).get(f"{API}device/{mine.slug}/key/?type=a-jwt").json()["key"]
    return {
        "project": project,
        "mine": mine,
        "other": other,
        "mine_stream": mine_stream,
        "other_stream": other_stream,
        "member": member,
        "client": device_client(token),
        "token": token,
    }


def test_the_token_reaches_its_device_its_project_and_its_streams(setup):
    client, mine, project = setup["client"], setup["mine"], setup["project"]
    assert client.get(f"{API}device/{mine.slug}/").json()["slug"] == mine.slug
    assert [row["slug"] for row in client.get(f"{API}device/").json()["results"]] == [mine.slug]
    assert client.get(f"{API}project/{project.id}/").status_code == 200
    assert [row["slug"] for row in client.get(f"{API}stream/").json()["results"]] == [setup["mine_stream"].slug]
    data = client.get(f"{API}stream/{setup['mine_stream'].slug}/data/").json()
    assert data["count"] == 3
    assert client.get(f"{API}variable/", {"project": str(project.id)}).json()["count"] == 1
    assert client.get(f"{API}sg/").status_code == 200


def test_the_token_reads_and_writes_its_devices_data_on_every_data_endpoint(setup):
    client, mine = setup["client"], setup["mine"]
    own, others = setup["mine_stream"], setup["other_stream"]
    add_data(others, 2)
    for value in (own.slug, mine.slug, own.variable.slug):  # a stream, the device, its variable
        page = client.get(f"{API}data/", {"filter": value})
        assert page.status_code == 200, page.content
        assert {row["stream"] for row in page.json()["results"]} == {own.slug}
        assert page.json()["count"] == 3
    table = client.get(f"{API}df/", {"filter": mine.slug, "format": "csv"})
    assert table.status_code == 200
    lines = b"".join(table.streaming_content).decode().splitlines()
    assert lines[0] == "timestamp,value,int_value,stream"
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {own.slug}
    assert client.get(f"{API}stream/{own.slug}/data/").json()["count"] == 3
    assert client.get(f"{API}event/", {"filter": own.slug}).status_code == 200

    reading = {"stream": own.slug, "timestamp": "2024-05-01T12:00:00Z", "value": 7.5, "streamer_local_id": 900}
    written = client.post(f"{API}data/", reading, format="json")
    assert written.status_code == 201, written.content
    assert StreamData.objects.filter(series=own.series, streamer_local_id=900, value=7.5).count() == 1


def test_another_devices_data_is_out_of_reach_on_every_data_endpoint(setup):
    client, other, others = setup["client"], setup["other"], setup["other_stream"]
    add_data(others, 2)
    for value in (others.slug, other.slug):
        assert client.get(f"{API}data/", {"filter": value}).status_code == 404
        assert client.get(f"{API}df/", {"filter": value}).status_code == 404
    assert client.get(f"{API}stream/{others.slug}/data/").status_code == 404
    assert client.get(f"{API}event/", {"filter": others.slug}).status_code == 404
    reading = {"stream": others.slug, "timestamp": "2024-05-01T12:00:00Z", "value": 7.5, "streamer_local_id": 900}
    refused = client.post(f"{API}data/", reading, format="json")
    assert refused.status_code == 404, refused.content
    assert not StreamData.objects.filter(series=others.series, streamer_local_id=900).exists()


def test_other_devices_of_the_same_organisation_are_out_of_reach(setup):
    client, other = setup["client"], setup["other"]
    assert client.get(f"{API}device/{other.slug}/").status_code == 404
    assert client.get(f"{API}stream/{setup['other_stream'].slug}/").status_code == 404
    assert client.get(f"{API}stream/{setup['other_stream'].slug}/data/").status_code == 404
    assert client.get(f"{API}stream/", {"device": other.slug}).json()["count"] == 0
    assert client.get(f"{API}org/").json()["count"] == 0


def test_the_token_cannot_change_the_device_or_act_as_the_account(setup):
    client, mine, member = setup["client"], setup["mine"], setup["member"]
    assert client.patch(f"{API}device/{mine.slug}/", {"label": "x"}, format="json").status_code == 403
    assert client.post(f"{API}device/{mine.slug}/unclaim/", {}, format="json").status_code == 403
    assert client.delete(f"{API}stream/{setup['mine_stream'].slug}/").status_code == 403
    # It cannot mint tokens, read the account's own credentials, or log the account out.
    assert client.get(f"{API}device/{mine.slug}/key/?type=a-jwt").status_code == 403
    assert client.get(f"{API}auth/token/").status_code == 403
    assert client.get(f"{API}account/").status_code == 403
    generation = member.token_generation
    assert client.post(f"{API}auth/logout/").status_code == 403
    member.refresh_from_db()
    assert member.token_generation == generation
    assert client.post(f"{API}org/", {"name": "Made by a device"}, format="json").status_code == 403
    assert not Org.objects.filter(name="Made by a device").exists()
    assert Device.objects.get(pk=mine.pk).label == mine.label
    assert StreamId.objects.filter(pk=setup["mine_stream"].pk).exists()


def test_a_staff_token_is_narrowed_too(setup):
    staff = make_staff()
    client = device_client(device_token_issue(user=staff, device=setup["mine"]))
    assert [row["slug"] for row in client.get(f"{API}device/").json()["results"]] == [setup["mine"].slug]
    assert client.get(f"{API}device/{setup['other'].slug}/").status_code == 404
    assert client.post(f"{API}sg/", {"name": "Nope"}, format="json").status_code == 403
    assert client.post(f"{API}device/", {"label": "new"}, format="json").status_code == 403


def test_a_device_token_request_takes_one_query_to_authenticate(setup):
    with assert_query_count(3):  # the user with the device's key and state, then the list's count and page
        assert setup["client"].get(f"{API}device/").status_code == 200


@pytest.mark.parametrize("header", ["a-jwt None", "a-jwt", "a-jwt a b", "A-JWT not.a.token", "a-jwt e30.e30.e30"])
def test_malformed_device_tokens_are_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get(f"{API}device/").status_code == 401


def test_tokens_stop_working_when_the_device_or_user_changes(setup):
    mine, member = setup["mine"], setup["member"]

    def status(token):
        return device_client(token).get(f"{API}device/{mine.slug}/").status_code

    token = setup["token"]
    assert status(token) == 200
    # Signed with another secret, or expired.
    wrong_secret = "a-wrong-secret-long-enough-for-hmac-sha256"
    assert status(device_token_encode(user=member, device=mine, secret=wrong_secret)) == 401
    secret = DeviceKey.objects.get(device=mine, type=DeviceKeyType.A_JWT).secret
    long_ago = datetime.now(UTC) - DEVICE_TOKEN_LIFETIME - timedelta(days=1)
    assert status(device_token_encode(user=member, device=mine, secret=secret, now=long_ago)) == 401
    # The key is rotated: old tokens fail, new ones work.
    device_token_key_rotate(device=mine)
    assert status(token) == 401
    token = device_token_issue(user=member, device=mine)
    assert status(token) == 200
    # The user is deactivated, then the device is deactivated, then it leaves its project.
    member.is_active = False
    member.save()
    assert status(token) == 401
    member.is_active = True
    member.save()
    Device.objects.filter(pk=mine.pk).update(active=False)
    assert status(token) == 401
    Device.objects.filter(pk=mine.pk).update(active=True)
    assert status(token) == 200
    device_unclaim(device=Device.objects.get(pk=mine.pk))
    assert status(token) == 401


def test_a_member_who_leaves_the_organisation_loses_what_the_token_reached(setup):
    from server.apps.org.models import OrgMembership

    OrgMembership.objects.filter(user=setup["member"]).update(is_active=False)
    assert setup["client"].get(f"{API}device/{setup['mine'].slug}/").status_code == 404


def test_the_scope_narrows_querysets_by_model_and_action(setup):
    mine = setup["mine"]
    scope = DeviceScope(device_id=mine.id, project_id=mine.project_id, org_id=mine.org_id)
    assert list(scope.narrow(Device.objects.all(), "view")) == [mine]
    assert not scope.narrow(Device.objects.all(), "change").exists()
    assert list(scope.narrow(StreamId.objects.all(), "create_data")) == [setup["mine_stream"]]
    assert not scope.narrow(DeviceKey.objects.all(), "view").exists()
    assert scope.allows_org_permission(mine.org, "can_create_stream_data")
    assert not scope.allows_org_permission(mine.org, "can_claim_devices")
    assert not scope.allows_org_permission(make_project().org, None)
