"""device/<d>/keys/: staff set, rotate and revoke a device's keys; those who may modify the device see which it
has (never the secrets); rotation and revocation end the tokens signed before."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member
from server.apps.device.tests.factories import make_device, make_project, make_staff
from server.apps.deviceauth.models import DeviceKey, DeviceKeyType
from server.apps.deviceauth.services import device_key_set, device_token_issue
from server.apps.org.roles import OPERATOR, OWNER

API = "/api/v1/"
TYPES = [DeviceKeyType.MQTT, DeviceKeyType.USER, DeviceKeyType.DEVICE, DeviceKeyType.API_KEY, DeviceKeyType.CLAIM]


def keys_url(device, key_type: str | None = None, rotate: bool = False) -> str:
    url = f"{API}device/{device.slug}/keys/"
    if key_type:
        url += f"{key_type}/"
    return f"{url}rotate/" if rotate else url


class TestDeviceKeysEndpoint(ScopedEndpointCases):
    """Listed to those who may modify the device; writes are staff's (tested below)."""

    allowed_role = OWNER
    denied_role = None
    write_method = None
    list_key = "type"
    list_query_count = 5  # authentication, the device, may modify it, the count, the page

    def make_object(self, org):
        # One device per organisation, a key of another type each time.
        device = make_device(make_project(org)) if not org.devices.exists() else org.devices.first()
        key_type = next(t for t in TYPES if not DeviceKey.objects.filter(device=device, type=t).exists())
        return device_key_set(device=device, type=key_type, secret=None, created_by=make_staff())

    def list_key_value(self, obj) -> str:
        return {"MQTT": "mqtt", "USR": "usr", "DEV": "dev", "X-API-KEY": "x-api-key", "CLAIM": "claim"}[obj.type]

    def get_list_url(self, obj) -> str:
        return keys_url(obj.device)

    def detail_url(self, obj) -> str:
        return keys_url(obj.device, self.list_key_value(obj))


@pytest.fixture
def device(db):
    return make_device(make_project())


def test_staff_set_a_key_with_a_given_or_a_random_secret(device):
    staff = api_client(make_staff())
    root = "AB" * 32
    response = staff.post(keys_url(device), {"type": "USR", "secret": root, "downloadable": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["type"], body["secret"], body["downloadable"]) == ("usr", root.lower(), True)
    saved = DeviceKey.objects.get(device=device, type=DeviceKeyType.USER)
    assert (saved.secret, saved.downloadable, saved.created_by.email) == (root.lower(), True, body["created_by"])

    response = staff.post(keys_url(device), {"type": "mqtt"}, format="json")
    assert response.status_code == 201
    assert DeviceKey.objects.get(device=device, type=DeviceKeyType.MQTT).secret == response.json()["secret"]
    assert len(response.json()["secret"]) >= 40

    listed = api_client(device.org.created_by).get(keys_url(device)).json()["results"]
    assert [(row["type"], row["downloadable"]) for row in listed] == [("mqtt", False), ("usr", True)]
    assert all("secret" not in row for row in listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "usr", "secret": "not-hex"}, "secret"),
        ({"type": "ssh"}, "secret"),  # an SSH key is never made up
        ({"type": "password"}, "type"),
        ({}, "type"),
    ],
)
def test_bad_keys_are_400_and_nothing_is_saved(device, body, field):
    response = api_client(make_staff()).post(keys_url(device), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not DeviceKey.objects.exists()


def test_rotating_the_token_key_ends_the_tokens_signed_before(device):
    member = device.org.created_by
    before = device_token_issue(user=member, device=device)
    old = APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"a-jwt {before}")
    assert old.get(f"{API}device/{device.slug}/").status_code == 200
    old_secret = DeviceKey.objects.get(device=device, type=DeviceKeyType.A_JWT).secret

    response = api_client(make_staff()).post(keys_url(device, "a-jwt", rotate=True))
    assert response.status_code == 200, response.content
    new_secret = DeviceKey.objects.get(device=device, type=DeviceKeyType.A_JWT).secret
    assert new_secret == response.json()["secret"] != old_secret
    assert old.get(f"{API}device/{device.slug}/").status_code == 401
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"a-jwt {device_token_issue(user=member, device=device)}")
    assert fresh.get(f"{API}device/{device.slug}/").status_code == 200


def test_rotating_a_root_key_keeps_its_download_flag(device):
    staff = make_staff()
    device_key_set(device=device, type=DeviceKeyType.DEVICE, secret="cd" * 32, created_by=staff, downloadable=True)
    response = api_client(staff).post(keys_url(device, "DEV", rotate=True))
    assert response.status_code == 200
    saved = DeviceKey.objects.get(device=device, type=DeviceKeyType.DEVICE)
    assert saved.secret == response.json()["secret"] != "cd" * 32
    assert saved.downloadable
    assert api_client(staff).post(keys_url(device, "mqtt", rotate=True)).status_code == 404


def test_revoking_the_token_key_ends_the_tokens_and_a_new_one_is_made_on_demand(device):
    member = device.org.created_by
    token = device_token_issue(user=member, device=device)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"a-jwt {token}")
    assert api_client(make_staff()).delete(keys_url(device, "a-jwt")).status_code == 204
    assert not DeviceKey.objects.filter(device=device).exists()
    assert client.get(f"{API}device/{device.slug}/").status_code == 401
    assert api_client(make_staff()).delete(keys_url(device, "a-jwt")).status_code == 404
    assert api_client(member).get(f"{API}device/{device.slug}/key/?type=a-jwt").status_code == 200


def test_only_staff_write_keys(device):
    staff = make_staff()
    key = device_key_set(device=device, type=DeviceKeyType.MQTT, secret="s3cret", created_by=staff)
    owner = api_client(device.org.created_by)
    assert owner.get(keys_url(device, "mqtt")).json()["type"] == "mqtt"
    assert owner.post(keys_url(device), {"type": "usr"}, format="json").status_code == 403
    assert owner.post(keys_url(device, "mqtt", rotate=True)).status_code == 403
    assert owner.delete(keys_url(device, "mqtt")).status_code == 403
    assert list(DeviceKey.objects.values_list("type", "secret")) == [(key.type, "s3cret")]
    # A role that may not modify the device does not even see which keys it has; another organisation, nothing.
    assert api_client(make_member(device.org, OPERATOR)).get(keys_url(device)).status_code == 403
    outsider = api_client(make_member(make_project().org, OWNER))
    assert outsider.get(keys_url(device)).status_code == 404
    assert outsider.delete(keys_url(device, "mqtt")).status_code == 404
    assert DeviceKey.objects.count() == 1
