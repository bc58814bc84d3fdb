"""Staff set, rotate and revoke a device's MQTT key (device keys API, staff page): once the change commits the
worker pushes the login to a real broker with the dynamic-security plugin, so the broker always takes the password
the platform holds, and none once it is revoked."""

from __future__ import annotations

import pytest

from server.apps.core.testing import api_client
from server.apps.device.tests.factories import make_device, make_project, make_staff
from server.apps.operation.simulator import MqttFleet
from server.apps.operation.transports.mqtt import broker_address
from server.apps.worker.models import QueueMessage
from server.apps.worker.runner import run_worker

WAIT = 10.0


def logs_in(broker, slug: str, password: str) -> bool:
    fleet = MqttFleet(broker=broker_address(broker.platform_url), logins={slug: password}, birth=False)
    fleet.connect()
    try:
        fleet.run(seconds=WAIT, until=lambda f: f.all_connected() or bool(f.refused))
        return fleet.all_connected()
    finally:
        fleet.close()


@pytest.fixture
def device(transactional_db):
    return make_device(make_project())


def test_mqtt_keys_set_rotated_and_revoked_by_staff_reach_the_broker(broker, device):
    keys = f"/api/v1/device/{device.slug}/keys/"
    staff = api_client(make_staff())

    made = staff.post(keys, {"type": "mqtt"}, format="json")
    assert made.status_code == 201, made.content
    first = made.json()["secret"]
    # Queued with the key, pushed by the worker after the commit.
    assert list(QueueMessage.objects.values_list("action", "arguments")) == [
        ("SyncMqttLogins", {"device_ids": [device.pk]})
    ]
    run_worker(burst=True)
    assert logs_in(broker, device.slug, first)

    rotated = staff.post(f"{keys}mqtt/rotate/", format="json")
    assert rotated.status_code == 200, rotated.content
    second = rotated.json()["secret"]
    run_worker(burst=True)
    assert logs_in(broker, device.slug, second)
    assert not logs_in(broker, device.slug, first)

    assert staff.delete(f"{keys}mqtt/").status_code == 204
    run_worker(burst=True)
    assert not logs_in(broker, device.slug, second)
    # Revoking what the broker no longer has (a second push of the same state) is no failure.
    from server.apps.operation.services.credentials import device_mqtt_logins_sync

    assert device_mqtt_logins_sync(device_ids=[device.pk]) == 1
    assert not QueueMessage.objects.exists()


def test_other_keys_and_a_platform_without_a_broker_queue_nothing(transactional_db, settings):
    device = make_device(make_project())
    staff = api_client(make_staff())
    settings.MQTT_ADMIN_URL = "mqtt://admin:x@127.0.0.1:1"
    assert staff.post(f"/api/v1/device/{device.slug}/keys/", {"type": "claim"}, format="json").status_code == 201
    settings.MQTT_ADMIN_URL = ""
    assert staff.post(f"/api/v1/device/{device.slug}/keys/", {"type": "mqtt"}, format="json").status_code == 201
    assert not QueueMessage.objects.exists()
