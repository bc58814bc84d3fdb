"""The MQTT tests' broker (``operation/testing.py``) and the bridge running in a thread against it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from server.apps.operation.bridge import MqttBridge
from server.apps.operation.testing import Broker, BrokerUnavailable, mosquitto_broker


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Broker]:
    from conftest import skip_or_fail

    try:
        with mosquitto_broker() as broker:
            yield broker
    except BrokerUnavailable as exc:
        skip_or_fail(str(exc))


@pytest.fixture
def broker(mosquitto, settings) -> Broker:
    settings.MQTT_URL = mosquitto.platform_url
    settings.MQTT_ADMIN_URL = mosquitto.admin_url
    return mosquitto


@pytest.fixture
def bridge(broker, transactional_db) -> Iterator[MqttBridge]:
    """The bridge in a thread, subscribed before the test goes on; stopped (its queue drained) afterwards."""
    # A clean session: a persistent one would stay in the shared group after the test and take its share of the
    # next test's messages.
    running = MqttBridge(
        url=broker.platform_url, client_id=f"bridge-{time.monotonic_ns()}", batch_wait=0.02, persistent=False
    )
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    assert running.subscribed.wait(10), "the bridge did not subscribe"
    yield running
    running.stop()
    thread.join(timeout=20)
