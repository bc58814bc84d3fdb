"""Claim keys: a device given one (by staff, at manufacture) is claimed, through the API or the dashboard, only by
whoever presents it; a missing or wrong key is a 400 and nothing changes. A device without one is claimed by its
number alone, as before."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import api_client
from server.apps.device.models import Device
from server.apps.device.tests.factories import make_device, make_project, make_staff
from server.apps.deviceauth.models import DeviceKeyType
from server.apps.deviceauth.services import device_key_set
from server.apps.stream.models import StreamId

CLAIM_URL = "/api/v1/device/claim/"


@pytest.fixture
def keyed(db):
    """An unclaimed device with a claim key made by staff through the API, and a project to claim it into."""
    device = make_device()
    response = api_client(make_staff()).post(f"/api/v1/device/{device.slug}/keys/", {"type": "claim"}, format="json")
    assert response.status_code == 201, response.content
    return device, response.json()["secret"], make_project()


def assert_unclaimed(device) -> None:
    saved = Device.objects.get(pk=device.pk)
    assert (saved.project_id, saved.org_id, saved.claimed_by_id) == (None, None, None)
    assert not StreamId.objects.filter(device=device).exists()


@pytest.mark.parametrize("given", [None, "", "0000-0000-0000-0000"])
def test_the_api_refuses_a_missing_or_wrong_claim_key(keyed, given):
    device, _, project = keyed
    body = {"device": device.slug, "project": project.slug}
    if given is not None:
        body["claim_key"] = given
    response = api_client(project.org.created_by).post(CLAIM_URL, body, format="json")
    assert response.status_code == 400
    assert "claim key" in response.json()["detail"]
    assert response.json()["claim_key"]
    assert_unclaimed(device)


def test_the_api_claims_with_the_key_in_any_case_and_with_or_without_dashes(keyed):
    device, key, project = keyed
    typed = key.replace("-", " ").lower()
    response = api_client(project.org.created_by).post(
        CLAIM_URL, {"device": device.slug, "project": project.slug, "claim_key": typed}, format="json"
    )
    assert response.status_code == 202, response.content
    saved = Device.objects.get(pk=device.pk)
    assert (saved.project_id, saved.org_id) == (project.pk, project.org_id)


def test_the_dashboard_asks_for_the_key_and_claims_with_it(keyed):
    device, key, project = keyed
    client = Client()
    client.force_login(project.org.created_by)
    url = reverse("project:claim", kwargs={"org_slug": project.org.slug, "project_id": project.pk})
    refused = client.post(url, {"device": device.slug, "claim_key": "wrong"})
    assert refused.status_code == 200
    assert refused.context["claim_form"].errors["claim_key"]
    assert_unclaimed(device)

    claimed = client.post(url, {"device": device.slug, "claim_key": key})
    assert claimed.status_code == 302
    assert Device.objects.get(pk=device.pk).project_id == project.pk


def test_a_device_without_a_claim_key_is_claimed_by_its_number(db):
    device, project = make_device(), make_project()
    device_key_set(device=device, type=DeviceKeyType.MQTT, secret=None, created_by=make_staff())  # other keys: no
    response = api_client(project.org.created_by).post(
        CLAIM_URL, {"device": device.slug, "project": project.slug, "claim_key": "anything"}, format="json"
    )
    assert response.status_code == 202


REPLACE_AT = {"timestamp": "2024-05-01T00:00:00Z"}


def test_replacing_by_a_keyed_device_needs_its_key_through_the_api(keyed):
    device, key, project = keyed
    old, body = make_device(project), REPLACE_AT
    client = api_client(project.org.created_by)
    url = f"/api/v1/device/{old.slug}/replace/"
    for given in (None, "1111-2222-3333-4444"):
        refused = client.post(url, {**body, "new_device": device.slug, **({"claim_key": given} if given else {})})
        assert refused.status_code == 400, refused.content
        assert refused.json()["claim_key"]
        assert_unclaimed(device)
        assert Device.objects.get(pk=old.pk).active

    replaced = client.post(url, {**body, "new_device": device.slug, "claim_key": key.lower()}, format="json")
    assert replaced.status_code == 200, replaced.content
    assert Device.objects.get(pk=device.pk).project_id == project.pk
    assert not Device.objects.get(pk=old.pk).active


def test_the_replace_form_asks_for_the_key(keyed):
    device, key, project = keyed
    old = make_device(project)
    client = Client()
    client.force_login(project.org.created_by)
    url = reverse("device:replace", kwargs={"org_slug": project.org.slug, "device_slug": old.slug})
    form = {"new_device": device.slug, "timestamp": "2024-05-01 00:00"}
    refused = client.post(url, {**form, "claim_key": "wrong"})
    assert refused.status_code == 200
    assert refused.context["replace_form"].errors["claim_key"]
    assert_unclaimed(device)

    replaced = client.post(url, {**form, "claim_key": key})
    assert replaced.status_code == 302, replaced.content
    assert Device.objects.get(pk=device.pk).project_id == project.pk
