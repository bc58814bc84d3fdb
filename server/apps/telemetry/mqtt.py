"""MQTT telemetry: what a device publishes on ``devices/<slug>/telemetry`` (ThingsBoard's body), heard by the one
bridge through the operation app's inbound-topic registry and ingested batch by batch."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from django.db import transaction

from server.apps.core.slugs import device_slug
from server.apps.device.models import Device
from server.apps.operation.topics import DeviceTopicMessage, InboundTopic, register_inbound_topic
from server.apps.telemetry.models import RawMessageSource
from server.apps.telemetry.services.ingest import (
    DeviceRef,
    Inbound,
    Outcome,
    telemetry_messages_store,
    telemetry_values_write,
)
from server.apps.telemetry.wire import telemetry_read

TELEMETRY_SUFFIX = "telemetry"


def telemetry_mqtt_messages_ingest(*, messages: Sequence[DeviceTopicMessage]) -> list[Outcome]:
    """One bridge batch, inside its transaction: one query for the devices' projects, then the raw rows; their
    values are written once the batch commits, before the broker is acknowledged (a crash between the two: the
    broker delivers the batch again, and the ingest writes the values the raw rows name)."""
    projects = dict(
        Device.objects.filter(pk__in={message.device_id for message in messages}).values_list("pk", "project_id")
    )
    ingested = telemetry_messages_store(
        inbounds=[
            Inbound(
                source=RawMessageSource.MQTT,
                device=DeviceRef(
                    message.device_id, device_slug(message.device_id), message.org_id, projects.get(message.device_id)
                ),
                org_id=message.org_id,
                body=message.message.payload,
                received_at=message.message.received_at,
                read=telemetry_read,
            )
            for message in messages
        ]
    )
    transaction.on_commit(partial(telemetry_values_write, rows=ingested.rows))
    return ingested.outcomes


register_inbound_topic(InboundTopic(suffix=TELEMETRY_SUFFIX, handle=telemetry_mqtt_messages_ingest))
