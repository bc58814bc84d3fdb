"""What devices send, in batches: presence, replies and unreadable messages, from MQTT (the bridge), HTTP (the
poll and reply endpoints) and the stores. Each batch is one transaction: its presence events (and the configuration
they start), its replies and its errors are written with a handful of statements whatever its size."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from server.apps.core.slugs import SlugError, parse_device_slug
from server.apps.device.models import Device
from server.apps.operation.kinds import kind_by_topic
from server.apps.operation.models import DeviceMessageError, DeviceOperation, Transport
from server.apps.operation.services.configuration import configuration_on_connect
from server.apps.operation.services.operations import ReplyOutcome, operation_replies_record, operations_poll
from server.apps.operation.services.presence import CONNECTED, DISCONNECTED, SEEN, PresenceEvent, presence_record
from server.apps.operation.topics import DeviceTopicMessage, inbound_topics, inbound_topics_dispatch
from server.apps.operation.wire import MessageError, Reply, excerpt, json_from_bytes, reply_from_dict

logger = logging.getLogger(__name__)

PRESENCE_TOPIC = "presence"
# What a presence message may say: {"status": "online"} (the birth) or {"status": "offline"} (the last will).
ONLINE_WORDS = frozenset({"online", "connected", "birth"})
OFFLINE_WORDS = frozenset({"offline", "disconnected", "will", "dead"})


def unreadable_message(
    *, device_id: int, org_id: UUID | None, message: MqttMessage, error: MessageError
) -> DeviceMessageError:
    """The error (logged, not yet saved) that a device's MQTT message which cannot be read leaves on its device: for
    this module's topics and for those the apps register (operation/topics.py)."""
    logger.info("unreadable MQTT message on %s: %s", message.topic, error)
    return DeviceMessageError(
        device_id=device_id,
        org_id=org_id,
        transport=Transport.MQTT,
        source=message.topic[:300],
        error=str(error),
        excerpt=excerpt(message.payload),
    )


def _seen(*, events: Sequence[PresenceEvent]) -> None:
    configuration_on_connect(events=presence_record(events=events))


@transaction.atomic
def devices_seen(*, seen: Sequence[tuple[int, datetime]], transport: Transport) -> list[DeviceOperation]:
    """Devices heard from through another app (a streamer report, uploaded over HTTP): their presence, and the
    configuration of those that came online (a first report after ``CONFIG_ON_CONNECT_GAP_SECONDS``). Three
    statements after the devices' when none came online: presence's read and upsert, and their health turned OK.
    Devices the platform no longer has are left out."""
    known = set(Device.objects.filter(pk__in=[device_id for device_id, _ in seen]).values_list("pk", flat=True))
    events = [PresenceEvent(device_id, SEEN, at, transport) for device_id, at in seen if device_id in known]
    return configuration_on_connect(events=presence_record(events=events))


@transaction.atomic
def device_poll(*, device: Device) -> list[DeviceOperation]:
    """A device's HTTP poll: it is seen (perhaps coming online), and gets its pending HTTP operations."""
    _seen(events=[PresenceEvent(device.pk, SEEN, timezone.now(), Transport.HTTP)])
    return operations_poll(device=device)


@transaction.atomic
def device_replies(*, device_id: int, replies: Sequence[Reply], transport: Transport) -> list[ReplyOutcome]:
    outcomes = operation_replies_record(replies=[(device_id, reply) for reply in replies], transport=transport)
    _seen(events=[PresenceEvent(device_id, SEEN, timezone.now(), transport)])
    return outcomes


@dataclass(frozen=True)
class MqttMessage:
    topic: str
    payload: bytes
    received_at: datetime


@dataclass
class BatchSummary:
    presence: int = 0
    came_online: int = 0
    replies: int = 0
    errors: int = 0
    ignored: int = 0
    registered: int = 0


def _presence_event(device_id: int, message: MqttMessage) -> PresenceEvent:
    text = message.payload.strip()
    if text.startswith(b"{"):
        body = json_from_bytes(message.payload, "presence message")
        word = body.get("status") if isinstance(body, dict) else None
    else:
        word = text.decode("utf-8", errors="replace")
    word = str(word or "").lower()
    if word in ONLINE_WORDS:
        return PresenceEvent(device_id, CONNECTED, message.received_at, Transport.MQTT)
    if word in OFFLINE_WORDS:
        return PresenceEvent(device_id, DISCONNECTED, message.received_at, Transport.MQTT)
    raise MessageError(f'A presence message says {{"status": "online"}} or {{"status": "offline"}}, not {word[:40]!r}.')


@transaction.atomic
def mqtt_messages_process(*, messages: Sequence[MqttMessage]) -> BatchSummary:
    """A batch of messages from ``devices/<slug>/…`` topics, in the order they arrived. A message from a device the
    platform does not know is logged and dropped; one that cannot be read becomes a :class:`DeviceMessageError` on
    its device; one on a registered inbound topic (``topics.py``) goes to its app's handler. Nothing here raises for
    a bad message."""
    summary = BatchSummary()
    parsed: list[tuple[int, str, MqttMessage]] = []
    for message in messages:
        parts = message.topic.split("/", 2)
        if len(parts) != 3 or parts[0] != "devices":
            summary.ignored += 1
            continue
        try:
            device_id = parse_device_slug(parts[1])
        except SlugError:
            logger.warning("MQTT message on %s: not a device topic", message.topic)
            summary.ignored += 1
            continue
        parsed.append((device_id, parts[2], message))
    known = dict(Device.objects.filter(pk__in={device_id for device_id, _, _ in parsed}).values_list("pk", "org_id"))
    events: list[PresenceEvent] = []
    replies: list[tuple[int, Reply]] = []
    errors: list[DeviceMessageError] = []
    registered: list[DeviceTopicMessage] = []
    for device_id, suffix, message in parsed:
        if device_id not in known:
            logger.warning("MQTT message on %s from an unknown device dropped", message.topic)
            summary.ignored += 1
            continue
        topic = inbound_topics.get(suffix)
        if topic is not None:
            registered.append(DeviceTopicMessage(device_id, known[device_id], suffix, message))
            if topic.marks_seen:
                events.append(PresenceEvent(device_id, SEEN, message.received_at, Transport.MQTT))
            continue
        try:
            if suffix == PRESENCE_TOPIC:
                events.append(_presence_event(device_id, message))
                summary.presence += 1
                continue
            kind = kind_by_topic(suffix[: -len("_resp")]) if suffix.endswith("_resp") else None
            if kind is None:
                summary.ignored += 1
                continue
            replies.append((device_id, reply_from_dict(json_from_bytes(message.payload, "reply"))))
            events.append(PresenceEvent(device_id, SEEN, message.received_at, Transport.MQTT))
        except MessageError as exc:
            errors.append(unreadable_message(device_id=device_id, org_id=known[device_id], message=message, error=exc))
    if registered:
        inbound_topics_dispatch(messages=registered)
        summary.registered = len(registered)
    if replies:
        outcomes = operation_replies_record(replies=replies, transport=Transport.MQTT)
        summary.replies = len(outcomes)
    came_online = presence_record(events=events)
    configuration_on_connect(events=came_online)
    summary.came_online = len(came_online)
    if errors:
        DeviceMessageError.objects.bulk_create(errors)
        summary.errors = len(errors)
    return summary
