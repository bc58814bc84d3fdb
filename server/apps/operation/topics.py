"""Inbound MQTT topics other apps hear through the one bridge (``bridge.py``).

An app that wants what devices publish on ``devices/<slug>/<suffix>`` registers the suffix with a batch handler
(in its ``AppConfig.ready()``, so the bridge's subscriptions are complete when it starts)::

    register_inbound_topic(InboundTopic(suffix="telemetry", handle=telemetry_mqtt_messages_ingest))

The bridge then subscribes to ``devices/+/telemetry`` too, and ``services.inbound.mqtt_messages_process`` hands each
batch's messages on that suffix, from devices the platform knows, to ``handle(messages=[DeviceTopicMessage, …])``
inside the batch's transaction (acknowledged to the broker only once it commits). With ``marks_seen`` each message
also counts as the device being seen (presence). The handler must not raise for a bad message: it records the error
its own way; an exception means a bug, and the bridge retries the batch message by message.

A suffix is one or more plain topic levels (``telemetry``, ``update/desiredstatefeedback``; no wildcards) and may
not take a name the bridge already listens to: ``presence`` or ``<kind topic>_resp``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.apps.operation.services.inbound import MqttMessage


@dataclass(frozen=True)
class DeviceTopicMessage:
    """One message on a registered topic, from a known device (``org_id`` None: unclaimed)."""

    device_id: int
    org_id: Any
    suffix: str
    message: MqttMessage


@dataclass(frozen=True)
class InboundTopic:
    suffix: str
    handle: Callable[..., Any]  # handle(*, messages: Sequence[DeviceTopicMessage]) -> Any
    marks_seen: bool = True


inbound_topics: dict[str, InboundTopic] = {}


def register_inbound_topic(topic: InboundTopic) -> InboundTopic:
    if not topic.suffix or topic.suffix.startswith("/") or "+" in topic.suffix or "#" in topic.suffix:
        raise ValueError(f"an inbound topic suffix is plain topic levels, not {topic.suffix!r}")
    if topic.suffix == "presence" or topic.suffix.endswith("_resp"):
        raise ValueError(f"the bridge already listens to devices/+/{topic.suffix}")
    if topic.suffix in inbound_topics and inbound_topics[topic.suffix] != topic:
        raise ValueError(f"inbound topic {topic.suffix!r} is registered twice")
    inbound_topics[topic.suffix] = topic
    return topic


def inbound_topic_filters() -> list[str]:
    return sorted(f"devices/+/{suffix}" for suffix in inbound_topics)


def inbound_topics_dispatch(*, messages: Sequence[DeviceTopicMessage]) -> None:
    """Hand each registered suffix its messages of the batch, in arrival order."""
    by_suffix: dict[str, list[DeviceTopicMessage]] = {}
    for message in messages:
        by_suffix.setdefault(message.suffix, []).append(message)
    for suffix, batch in by_suffix.items():
        inbound_topics[suffix].handle(messages=batch)
