"""The inbound-topic registry (``operation/topics.py``): an app's suffix is subscribed by the one bridge, and its
handler gets each batch's messages from known devices, over a real Mosquitto."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from server.apps.device.tests.factories import make_device, make_project
from server.apps.operation.models import DevicePresence
from server.apps.operation.services.credentials import device_mqtt_logins_provision
from server.apps.operation.topics import DeviceTopicMessage, InboundTopic, inbound_topics, register_inbound_topic
from server.apps.operation.transports.mqtt import broker_address, new_client

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30.0


@pytest.fixture
def heard() -> Iterator[list[DeviceTopicMessage]]:
    """A registered ``echo/in`` topic whose handler keeps what it is given; registered before the bridge starts."""
    received: list[DeviceTopicMessage] = []

    def handle(*, messages):
        received.extend(messages)

    register_inbound_topic(InboundTopic(suffix="echo/in", handle=handle))
    yield received
    inbound_topics.pop("echo/in")


def test_a_registered_suffix_reaches_its_handler_through_the_bridge(heard, broker, bridge):
    device = make_device(make_project(name="Registry"))
    password = device_mqtt_logins_provision(devices=[device])[device.slug]
    address = broker_address(broker.platform_url)
    client = new_client(type(address)(address.host, address.port, device.slug, password, False), "registry-test")
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        client.publish(f"devices/{device.slug}/echo/in", b'{"a": 1}', qos=1).wait_for_publish(WAIT)
        client.publish(f"devices/{device.slug}/echo/other", b"{}", qos=1).wait_for_publish(WAIT)
        end = time.monotonic() + WAIT
        # The handler runs inside the batch's transaction: wait for the batch to commit.
        while bridge.stats.messages < 2 and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    (message,) = heard
    assert (message.device_id, message.org_id, message.suffix) == (device.pk, device.org_id, "echo/in")
    assert message.message.payload == b'{"a": 1}'
    # The message counts as the device being seen.
    assert DevicePresence.objects.filter(device=device, last_seen__isnull=False).exists()


@pytest.mark.parametrize("suffix", ["presence", "config_resp", "+/x", "#", ""])
def test_a_suffix_the_bridge_hears_already_or_a_wildcard_is_refused(suffix):
    with pytest.raises(ValueError):
        register_inbound_topic(InboundTopic(suffix=suffix, handle=lambda *, messages: None))
