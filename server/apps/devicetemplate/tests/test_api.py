from __future__ import annotations

import datetime

from rest_framework.test import APIClient

from server.apps.core.testing import api_client, make_org, make_user
from server.apps.device.tests.factories import make_staff
from server.apps.devicetemplate.services import device_template_create

URL = "/api/v1/dt/"


def test_any_authenticated_user_reads_device_templates(db):
    template = device_template_create(
        created_by=make_staff(),
        external_sku="POD-1M",
        family="POD",
        major_version=1,
        os_tag=1024,
        os_major_version=2,
        os_minor_version=11,
        hw_tag="btc1_v3",
        released_on=datetime.date(2026, 1, 2),
    )
    assert template.slug == "pod-1m--v1-0-0"
    client = api_client(make_user())
    body = client.get(f"{URL}{template.slug}/").json()
    assert (body["os_tag"], body["os_version"], body["hw_tag"]) == (1024, "2.11", "btc1_v3")
    assert body["released_on"] == "2026-01-02"
    assert body["active"] is True
    assert client.get(URL, {"os_tag": 1024}).json()["count"] == 1
    assert APIClient().get(f"{URL}{template.slug}/").status_code == 401


def test_only_staff_write_device_templates(db):
    body = {"external_sku": "POD-2", "os_tag": 7}
    assert api_client(make_org().created_by).post(URL, body, format="json").status_code == 403
    response = api_client(make_staff()).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "pod-2--v0-0-0"
    assert api_client(make_user()).delete(f"{URL}pod-2--v0-0-0/").status_code == 403
