from __future__ import annotations

import datetime

from rest_framework.test import APIClient

from server.apps.core.testing import api_client, assert_query_count, make_org, make_user
from server.apps.device.tests.factories import make_staff
from server.apps.devicetemplate.models import Component, DeviceTemplate
from server.apps.devicetemplate.services import component_create, device_template_create

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


COMPONENTS = "/api/v1/component/"


def test_staff_build_a_template_from_components_in_slots(db):
    staff = api_client(make_staff())
    for sku, kind, hw_tag in (("BTC-1", "BTC", "btc1_v3"), ("BLE-1", "COM", "ble1")):
        response = staff.post(COMPONENTS, {"external_sku": sku, "type": kind, "hw_tag": hw_tag}, format="json")
        assert response.status_code == 201, response.content
    body = {
        "external_sku": "POD-1W",
        "os_tag": 1024,
        "os_major_version": 2,
        "os_minor_version": 11,
        "hw_tag": "btc1_v3",
        "slots": [{"number": 2, "component": "ble-1--v0-0-0"}, {"number": 0, "component": "btc-1--v0-0-0"}],
    }
    response = staff.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    detail = api_client(make_user()).get(f"{URL}pod-1w--v0-0-0/").json()
    assert (detail["os_tag"], detail["os_version"], detail["hw_tag"]) == (1024, "2.11", "btc1_v3")
    assert [(c["slot"], c["slug"], c["type"]) for c in detail["components"]] == [
        (0, "btc-1--v0-0-0", "BTC"),
        (2, "ble-1--v0-0-0", "COM"),
    ]
    assert "slots" not in detail
    # Sending slots again replaces them.
    staff.patch(f"{URL}pod-1w--v0-0-0/", {"slots": [{"number": 0, "component": "ble-1--v0-0-0"}]}, format="json")
    assert [c["slug"] for c in staff.get(f"{URL}pod-1w--v0-0-0/").json()["components"]] == ["ble-1--v0-0-0"]


def test_unknown_or_repeated_slots_are_400_and_create_nothing(db):
    staff = api_client(make_staff())
    staff.post(COMPONENTS, {"external_sku": "BTC-1"}, format="json")
    unknown = {"external_sku": "POD-X", "slots": [{"number": 0, "component": "no-such-part"}]}
    repeated = {"external_sku": "POD-Y", "slots": [{"number": 0, "component": "btc-1--v0-0-0"}] * 2}
    for body in (unknown, repeated):
        response = staff.post(URL, body, format="json")
        assert response.status_code == 400, response.content
        assert "slots" in response.json()
    assert not DeviceTemplate.objects.exists()


def test_a_component_in_use_cannot_be_deleted(db):
    staff_user = make_staff()
    used = component_create(created_by=staff_user, external_sku="BTC-1", type="BTC")
    spare = component_create(created_by=staff_user, external_sku="SPARE-1")
    device_template_create(created_by=staff_user, external_sku="POD-1", slots=[{"number": 0, "component": used.slug}])
    staff = api_client(staff_user)
    response = staff.delete(f"{COMPONENTS}{used.slug}/")
    assert response.status_code == 409
    assert response.json()["templates"] == ["pod-1--v0-0-0"]
    assert staff.delete(f"{COMPONENTS}{spare.slug}/").status_code == 204
    assert list(Component.objects.values_list("slug", flat=True)) == [used.slug]


def test_components_are_read_by_any_user_and_written_by_staff_only(db):
    component_create(created_by=make_staff(), external_sku="WMT-1", type="SEN", hw_tag="wmt1", major_version=1)
    reader = api_client(make_user())
    listed = reader.get(COMPONENTS, {"type": "SEN"}).json()
    assert [row["slug"] for row in listed["results"]] == ["wmt-1--v1-0-0"]
    assert listed["results"][0]["version"] == "v1.0.0"
    member = api_client(make_org().created_by)
    assert member.post(COMPONENTS, {"external_sku": "X-1"}, format="json").status_code == 403
    assert member.patch(f"{COMPONENTS}wmt-1--v1-0-0/", {"hw_tag": "x"}, format="json").status_code == 403
    assert APIClient().get(COMPONENTS).status_code == 401
    assert Component.objects.get().hw_tag == "wmt1"


def test_template_list_query_count(db):
    staff = make_staff()
    component = component_create(created_by=staff, external_sku="BTC-1")
    client = api_client(make_user())
    device_template_create(created_by=staff, external_sku="T-0", slots=[{"number": 0, "component": component.slug}])
    with assert_query_count(4):
        client.get(URL)
    for index in range(1, 5):
        slots = [{"number": 0, "component": component.slug}, {"number": 1, "component": component.slug}]
        device_template_create(created_by=staff, external_sku=f"T-{index}", slots=slots)
    with assert_query_count(4):
        assert client.get(URL).json()["count"] == 5
