"""Operations over MQTT: requests published with QoS 1 to ``devices/<slug>/<kind topic>_req``.

The worker keeps one connection per process (``MQTT_URL``, the platform's own login), opened on first use and
reconnected by paho's loop when it drops.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit
from uuid import UUID

import paho.mqtt.client as mqtt
from django.conf import settings

from server.apps.operation.kinds import get_kind
from server.apps.operation.models import DeviceOperation
from server.apps.operation.wire import request_message

logger = logging.getLogger(__name__)

# How long a batch waits for the broker's acknowledgements.
PUBLISH_TIMEOUT = 10.0


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def broker_address(url: str) -> BrokerAddress:
    """``mqtt://user:password@host:1883`` (``mqtts://`` for TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ValueError(f"MQTT_URL must look like mqtt://user:password@host:port, not {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def new_client(address: BrokerAddress, client_id: str) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=True
    )
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def reply_topic(device_slug: str, kind_topic: str) -> str:
    return f"devices/{device_slug}/{kind_topic}_resp"


class _Publisher:
    """One connection per process and broker URL, shared by the worker's batches."""

    _lock = threading.Lock()
    _clients: dict[str, mqtt.Client] = {}

    @classmethod
    def client(cls, url: str) -> mqtt.Client:
        with cls._lock:
            client = cls._clients.get(url)
            if client is None:
                address = broker_address(url)
                client = new_client(address, f"platform-sender-{uuid.uuid4().hex[:12]}")
                client.connect(address.host, address.port, keepalive=60)
                client.loop_start()
                cls._clients[url] = client
            return client


class MqttDelivery:
    def deliver(self, operations: Sequence[DeviceOperation]) -> dict[UUID, str] | None:
        url = settings.MQTT_URL
        if not url:
            return {op.id: "MQTT is not configured (MQTT_URL)." for op in operations}
        try:
            client = _Publisher.client(url)
        except OSError as exc:
            raise ConnectionError(f"The MQTT broker cannot be reached: {exc}") from exc
        pending = []
        now = datetime.now(UTC)
        for operation in operations:
            kind = get_kind(operation.kind)
            topic = f"devices/{operation.device.slug}/{kind.mqtt_request_suffix}"
            payload = _json(kind.encode(operation, now) if kind.encode else request_message(operation, now))
            pending.append((operation, client.publish(topic, payload, qos=1)))
        failed: dict[UUID, str] = {}
        for operation, info in pending:
            try:
                info.wait_for_publish(timeout=PUBLISH_TIMEOUT)
            except (RuntimeError, ValueError) as exc:
                failed[operation.id] = f"not published: {exc}"
                continue
            if not info.is_published():
                failed[operation.id] = "the broker did not acknowledge the request in time"
        if len(failed) == len(pending) and pending:
            # Nothing got through: the broker is away. Let the worker retry the batch later.
            raise ConnectionError(next(iter(failed.values())))
        return failed


def _json(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()
