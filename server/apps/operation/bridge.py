"""The MQTT bridge (``manage.py mqtt_bridge``): the platform's ear on the broker.

It subscribes with QoS 1 to every device's presence and reply topics and the inbound topics other apps register
(``topics.py``), and hands what arrives to
``services.inbound.mqtt_messages_process`` in batches: paho's network thread only queues each message, and the
bridge's own thread takes whatever has arrived (up to ``batch_size``, waiting at most ``batch_wait`` for more) and
writes it in one transaction. A message is acknowledged to the broker only once its batch is committed, and the
session is persistent, so a bridge that stops or crashes loses nothing: the broker delivers again.

A database outage is retried with backoff on the same batch; a batch that fails for any other reason (a bug) is
retried message by message, and a message that still fails is logged and dropped, so the bridge keeps running.
Connecting and reconnecting to the broker back off from 1 s to 30 s.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone

from server.apps.operation.kinds import registry
from server.apps.operation.services.inbound import PRESENCE_TOPIC, MqttMessage, mqtt_messages_process
from server.apps.operation.topics import inbound_topic_filters
from server.apps.operation.transports.mqtt import BrokerAddress, broker_address

logger = logging.getLogger(__name__)

MAX_DB_BACKOFF = 30.0


def bridge_topics() -> list[str]:
    return [
        f"devices/+/{PRESENCE_TOPIC}",
        *sorted(f"devices/+/{kind.topic}_resp" for kind in registry.values()),
        *inbound_topic_filters(),
    ]


@dataclass
class BridgeStats:
    messages: int = 0
    batches: int = 0
    errors: int = 0
    dropped: int = 0
    connects: int = 0
    started: float = field(default_factory=time.monotonic)


class MqttBridge:
    def __init__(
        self,
        *,
        url: str,
        client_id: str = "platform-bridge",
        share_group: str = "",
        batch_size: int = 500,
        batch_wait: float = 0.05,
        persistent: bool = True,
    ) -> None:
        self.address: BrokerAddress = broker_address(url)
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.share_group = share_group
        self.stats = BridgeStats()
        self.inbox: queue.Queue[tuple[MqttMessage, int, int]] = queue.Queue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            # A persistent session: what arrives while the bridge is away waits for it at the broker.
            clean_session=not persistent,
            manual_ack=True,
        )
        if self.address.username is not None:
            self.client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            self.client.tls_set()
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # paho's network thread -------------------------------------------------------------------------------------

    def _topic_filter(self, topic: str) -> str:
        return f"$share/{self.share_group}/{topic}" if self.share_group else topic

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            logger.error("MQTT bridge: the broker refused the connection: %s", reason_code)
            return
        self.stats.connects += 1
        logger.info("MQTT bridge connected to %s:%s", self.address.host, self.address.port)
        client.subscribe([(self._topic_filter(topic), 1) for topic in bridge_topics()])
        self.connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            logger.error("MQTT bridge: subscriptions refused (%s); check the platform login's role", refused)
        else:
            self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            logger.warning("MQTT bridge disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.inbox.put((MqttMessage(message.topic, bytes(message.payload), timezone.now()), message.mid, message.qos))

    # the bridge's thread ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self.client.connect_async(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def run(self, *, until: Callable[[], bool] | None = None) -> BridgeStats:
        """Process batches until :meth:`stop` (or ``until()``); then what is already queued, then disconnect."""
        self.start()
        try:
            while not self._stop.is_set() and not (until and until()):
                self.process_next(timeout=0.5)
            while self.process_next(timeout=0):
                pass
        finally:
            self.close()
            connections.close_all()  # this thread's own
        return self.stats

    def _take_batch(self, timeout: float) -> list[tuple[MqttMessage, int, int]]:
        try:
            first = self.inbox.get(timeout=timeout) if timeout else self.inbox.get_nowait()
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=remaining) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def process_next(self, timeout: float) -> int:
        """Take one batch and write it; returns how many messages it held."""
        batch = self._take_batch(timeout)
        if not batch:
            return 0
        self._write(batch)
        for _, mid, qos in batch:
            if qos:
                self.client.ack(mid, qos)
        self.stats.messages += len(batch)
        self.stats.batches += 1
        return len(batch)

    def _write(self, batch: list[tuple[MqttMessage, int, int]]) -> None:
        messages = [message for message, _, _ in batch]
        backoff = 1.0
        while True:
            try:
                close_old_connections()
                mqtt_messages_process(messages=messages)
                return
            except (OperationalError, InterfaceError) as exc:
                if self._stop.is_set():
                    raise
                logger.warning("MQTT bridge: database unavailable (%s); retrying in %.0f s", exc, backoff)
                self.stats.errors += 1
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_DB_BACKOFF)
            except Exception as exc:
                logger.exception("MQTT bridge: batch of %d failed (%s); writing it one by one", len(messages), exc)
                self.stats.errors += 1
                self._write_one_by_one(messages)
                return

    def _write_one_by_one(self, messages: list[MqttMessage]) -> None:
        for message in messages:
            try:
                mqtt_messages_process(messages=[message])
            except Exception:
                logger.exception("MQTT bridge: dropped the message on %s", message.topic)
                self.stats.dropped += 1
