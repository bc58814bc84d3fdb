"""MQTT telemetry over a real Mosquitto: a device publishes on ``devices/<slug>/telemetry`` with its own login,
the one bridge hears it through the inbound-topic registry, and the batch is stored raw, then as values."""

from __future__ import annotations

import json
import time

import pytest

from server.apps.device.tests.factories import make_device, make_project
from server.apps.operation.models import DevicePresence
from server.apps.operation.services.credentials import device_mqtt_logins_provision
from server.apps.operation.transports.mqtt import broker_address, new_client
from server.apps.streamdata.models import StreamData
from server.apps.telemetry.models import PhysicalDevice, RawMessage, RawMessageStatus
from server.apps.telemetry.services.mapping import mapping_start
from server.apps.telemetry.tests.factories import logical_values, make_logical, make_physical_of, routed_consumer

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "streamdata"])

WAIT = 30.0
TS = 1_767_225_600_000


def test_a_device_publishes_telemetry_with_its_own_login(broker, bridge):
    project = make_project(name="Orchard")
    device = make_device(project, label="Weather station")
    password = device_mqtt_logins_provision(devices=[device])[device.slug]
    address = broker_address(broker.platform_url)
    client = new_client(type(address)(address.host, address.port, device.slug, password, False), "station")
    client.connect(address.host, address.port)
    client.loop_start()
    topic = f"devices/{device.slug}/telemetry"
    payloads = [
        {"ts": TS, "values": {"temperature": 18.5, "humidity": 71, "wind": 3.2}},
        {"msg_id": "m-7", "rain": 0.4},
        {"msg_id": "m-7", "rain": 0.4},  # delivered again: stored once
        "not json at all",
    ]
    try:
        for payload in payloads:
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            client.publish(topic, data, qos=1).wait_for_publish(WAIT)
        end = time.monotonic() + WAIT
        while bridge.stats.messages < len(payloads) and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    time.sleep(0.5)  # the last batch commits after its messages are counted
    raws = list(RawMessage.objects.order_by("id"))
    assert [(raw.source, raw.status) for raw in raws] == [
        ("mqtt", RawMessageStatus.UNMAPPED),
        ("mqtt", RawMessageStatus.UNMAPPED),
        ("mqtt", RawMessageStatus.REFUSED),
    ]
    assert raws[1].source_message_id == f"{device.slug}:m-7"
    assert "Invalid JSON" in raws[2].error
    assert sorted(StreamData.objects.values_list("value", flat=True)) == [0.4, 3.2, 18.5, 71.0]
    traced = sorted(row_id for raw in raws for row_id in raw.data_ids)
    assert traced == sorted(StreamData.objects.values_list("id", flat=True))
    assert PhysicalDevice.objects.get(device=device).source_name == "mqtt"
    assert DevicePresence.objects.get(device=device).last_seen is not None


def test_a_mapped_device_over_mqtt_is_routed(broker, bridge):
    project = make_project(name="Dam")
    device = make_device(project, label="Level gauge")
    physical = make_physical_of(device)
    tank = make_logical(project, name="Dam level")
    mapping_start(user=project.org.created_by, physical=physical, logical=tank)
    password = device_mqtt_logins_provision(devices=[device])[device.slug]
    address = broker_address(broker.platform_url)
    client = new_client(type(address)(address.host, address.port, device.slug, password, False), "gauge")
    client.connect(address.host, address.port)
    client.loop_start()
    with routed_consumer() as forwarded:
        try:
            client.publish(f"devices/{device.slug}/telemetry", b'{"level": 4.5}', qos=1).wait_for_publish(WAIT)
            end = time.monotonic() + WAIT
            while not forwarded and time.monotonic() < end:
                time.sleep(0.05)
        finally:
            client.disconnect()
            client.loop_stop()
    (message,) = forwarded
    assert (message["p_uid"], message["l_uid"], message["source"]) == (device.pk, tank.pk, "mqtt")
    time.sleep(0.5)
    assert RawMessage.objects.get().status == RawMessageStatus.ROUTED
    assert [value for _, value in logical_values(tank, "level")] == [4.5]
