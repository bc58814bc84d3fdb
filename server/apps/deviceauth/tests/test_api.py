"""GET device/<d>/key/?type=: device tokens (a-jwt) and downloadable stored keys."""

from __future__ import annotations

import jwt
import pytest

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member
from server.apps.device.tests.factories import make_device, make_project, make_staff
from server.apps.deviceauth.models import DeviceKey, DeviceKeyType
from server.apps.deviceauth.services import device_key_set
from server.apps.org.roles import MEMBER, OPERATOR

ROOT_KEY = "ab" * 32


def key_url(device, key_type: str = "a-jwt") -> str:
    return f"/api/v1/device/{device.slug}/key/?type={key_type}"


class TestDeviceKeyEndpoint(ScopedEndpointCases):
    """Members who may modify the device get its token; other organisations get a 404."""

    allowed_role = MEMBER
    write_method = None

    def make_object(self, org):
        return make_device(make_project(org))

    def detail_url(self, obj) -> str:
        return key_url(obj)


@pytest.fixture
def device(db):
    return make_device(make_project())


def test_a_member_gets_a_device_token_signed_with_the_device_s_own_key(device):
    member = make_member(device.org, MEMBER)
    response = api_client(member).get(key_url(device, "A-JWT"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "a-jwt"
    secret = DeviceKey.objects.get(device=device, type=DeviceKeyType.A_JWT).secret
    payload = jwt.decode(body["key"], secret, algorithms=["HS256"])
    assert (payload["user"], payload["device"], payload["project"]) == (member.pk, device.slug, str(device.project_id))
    assert payload["exp"] > payload["iat"]
    # The signing key is made once; later tokens use it too.
    api_client(member).get(key_url(device))
    assert DeviceKey.objects.filter(device=device).count() == 1


def test_a_role_that_may_not_modify_the_device_is_403(device):
    response = api_client(make_member(device.org, OPERATOR)).get(key_url(device))
    assert response.status_code == 403
    assert not DeviceKey.objects.exists()


@pytest.mark.parametrize("query", ["", "?type=", "?type=password", "?type=a-jwt-key"])
def test_a_missing_or_unknown_type_is_400(device, query):
    response = api_client(device.org.created_by).get(f"/api/v1/device/{device.slug}/key/{query}")
    assert response.status_code == 400
    assert "type" in response.json()


def test_an_unclaimed_device_has_no_token(db):
    response = api_client(make_staff()).get(key_url(make_device()))
    assert response.status_code == 400
    assert not DeviceKey.objects.exists()


def test_stored_keys_download_only_when_marked_downloadable_except_for_staff(device):
    staff = make_staff()
    ssh = "ssh-ed25519 AAAA"
    device_key_set(device=device, type=DeviceKeyType.SSH, secret=ssh, created_by=staff, downloadable=True)
    device_key_set(device=device, type=DeviceKeyType.USER, secret=ROOT_KEY, created_by=staff)
    member = api_client(make_member(device.org, MEMBER))
    assert member.get(key_url(device, "ssh")).json() == {"key": "ssh-ed25519 AAAA", "type": "ssh"}
    assert member.get(key_url(device, "usr")).status_code == 404
    assert member.get(key_url(device, "mqtt")).status_code == 404
    assert api_client(staff).get(key_url(device, "USR")).json() == {"key": ROOT_KEY, "type": "usr"}
