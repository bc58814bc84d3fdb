"""The Things Stack (v3) uplink webhook: matched by dev_eui, unknown devices made in a holding state (unmapped),
decoded payloads timed by the gateway, the per-integration secret."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from server.apps.device.models import Device
from server.apps.device.tests.factories import make_project
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData
from server.apps.telemetry.models import PhysicalDevice, RawMessage, RawMessageStatus
from server.apps.telemetry.services.integrations import integration_create

pytestmark = pytest.mark.django_db(databases=["default", "streamdata"])

# An uplink as The Things Stack v3 posts it to a webhook (values made up, shape as sent).
UPLINK = {
    "end_device_ids": {
        "device_id": "eui-70b3d57ed005a1b2",
        "application_ids": {"application_id": "farm-sensors"},
        "dev_eui": "70B3D57ED005A1B2",
        "join_eui": "0000000000000000",
        "dev_addr": "260B1234",
    },
    "correlation_ids": ["as:up:01HWZ3YQ3J3V8T6N2M8Q9K7R5D", "gs:uplink:01HWZ3YPZ8E0F1K9J6M2R4S7T1"],
    "received_at": "2026-05-01T03:00:01.123456789Z",
    "uplink_message": {
        "session_key_id": "AYfYpQ2k1Wl3pXxZ9wE1bA==",
        "f_port": 2,
        "f_cnt": 1523,
        "frm_payload": "AWgBbgJ2Aw==",
        "decoded_payload": {
            "battery": 3.61,
            "temperature": 21.6,
            "humidity": 48,
            "status": "ok",
            "soil": {"moisture": 31.2},
        },
        "rx_metadata": [
            {
                "gateway_ids": {"gateway_id": "farm-gw-1", "eui": "B827EBFFFE000001"},
                "time": "2026-05-01T03:00:00.912Z",
                "timestamp": 3016544771,
                "rssi": -97,
                "channel_rssi": -97,
                "snr": 8.5,
                "received_at": "2026-05-01T03:00:00.951234Z",
            }
        ],
        "settings": {
            "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7, "coding_rate": "4/5"}},
            "frequency": "917200000",
            "timestamp": 3016544771,
        },
        "received_at": "2026-05-01T03:00:00.978Z",
        "consumed_airtime": "0.061696s",
        "network_ids": {"net_id": "000013", "tenant_id": "ttn", "cluster_id": "au1"},
    },
}


@pytest.fixture
def integration():
    project = make_project(name="Paddocks")
    return integration_create(user=project.org.created_by, project=project, name="Farm sensors")


def deliver(integration, body, secret=None) -> object:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return APIClient().post(
        f"/api/v1/ttn/{integration.id}/up/",
        data=data,
        content_type="application/json",
        HTTP_X_INTEGRATION_SECRET=integration.secret if secret is None else secret,
    )


def test_an_unknown_device_creates_itself_unmapped_with_its_values_at_the_gateway_time(integration):
    response = deliver(integration, UPLINK)
    assert response.status_code == 204
    physical = PhysicalDevice.objects.select_related("device").get()
    device = physical.device
    assert (device.project_id, device.org_id, device.label) == (
        integration.project_id,
        integration.org_id,
        "eui-70b3d57ed005a1b2",
    )
    assert (physical.source_name, physical.source_key) == ("ttn", "70b3d57ed005a1b2")
    assert physical.source_ids == {
        "dev_eui": "70b3d57ed005a1b2",
        "app_id": "farm-sensors",
        "dev_id": "eui-70b3d57ed005a1b2",
    }
    assert not physical.mappings.exists()
    raw = RawMessage.objects.get()
    assert (raw.source, raw.status, raw.device_id) == ("ttn", RawMessageStatus.UNMAPPED, device.pk)
    when = datetime(2026, 5, 1, 3, 0, 0, 951234, tzinfo=UTC)
    names = dict(StreamId.objects.filter(device=device).values_list("series", "var_name"))
    stored = {(names[row.series], row.value) for row in StreamData.objects.all()}
    assert stored == {("battery", 3.61), ("temperature", 21.6), ("humidity", 48.0), ("soil_moisture", 31.2)}
    assert set(StreamData.objects.values_list("timestamp", flat=True)) == {when}


def test_the_same_dev_eui_is_the_same_device_and_a_redelivery_is_stored_once(integration):
    assert deliver(integration, UPLINK).status_code == 204
    assert deliver(integration, UPLINK).status_code == 204
    later = copy.deepcopy(UPLINK)
    later["uplink_message"]["f_cnt"] = 1524
    later["uplink_message"]["received_at"] = "2026-05-01T03:10:00.978Z"
    later["uplink_message"]["rx_metadata"][0]["received_at"] = "2026-05-01T03:10:00.951Z"
    # Moved to another application: found by dev_eui alone.
    later["end_device_ids"]["application_ids"]["application_id"] = "other-app"
    assert deliver(integration, later).status_code == 204
    assert Device.objects.count() == 1
    assert RawMessage.objects.count() == 2
    assert StreamData.objects.count() == 8


def test_a_wrong_or_missing_secret_is_a_401_and_nothing_is_kept(integration):
    assert deliver(integration, UPLINK, secret="guess").status_code == 401
    assert deliver(integration, UPLINK, secret="").status_code == 401
    response = APIClient().post("/api/v1/ttn/not-a-uuid/up/", data="{}", content_type="application/json")
    assert response.status_code == 401
    assert RawMessage.objects.count() == 0
    assert Device.objects.count() == 0


def test_a_message_that_is_not_an_uplink_is_kept_raw_as_refused(integration):
    join = {"end_device_ids": UPLINK["end_device_ids"], "join_accept": {"session_key_id": "x"}}
    assert deliver(integration, join).status_code == 204
    raw = RawMessage.objects.get()
    assert (raw.status, raw.org_id, raw.device_id) == (RawMessageStatus.REFUSED, integration.org_id, None)
    assert "Not an uplink" in raw.error


def test_a_dev_eui_of_another_organisation_is_refused(integration):
    deliver(integration, UPLINK)
    other_project = make_project(name="Elsewhere")
    other = integration_create(user=other_project.org.created_by, project=other_project, name="Theirs")
    assert deliver(other, {**UPLINK, "received_at": "x"}).status_code == 204
    refused = RawMessage.objects.get(org_id=other.org_id)
    assert refused.status == RawMessageStatus.REFUSED
    assert "another organisation" in refused.error
    assert StreamData.objects.count() == 4
