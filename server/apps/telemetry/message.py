"""The normalised message: what every telemetry source (HTTP, MQTT, The Things Stack) becomes once it is parsed
and routed, in IoTa's shape, and the registry of what consumes routed messages.

A consumer (the forwarding app's outbox) registers itself, so this app imports none of them::

    register_routed_consumer(forwarding_enqueue)   # forwarding_enqueue(*, messages: Sequence[NormalisedMessage])

After a batch is routed, every consumer gets the batch's *routed* messages (mapped to a logical device, mapping not
paused), inside the ingest transaction on the default database: a consumer writes rows (an outbox) there and sends
nothing over the network, so a message is offered exactly when its raw row is marked routed. Unmapped, paused and
refused messages are never offered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NotRequired, TypedDict


class TimeseriesPoint(TypedDict):
    """One value: ``name`` is the key (the variable's name), ``timestamp`` (ISO-8601) only when it differs from the
    message's."""

    name: str
    value: Any
    timestamp: NotRequired[str]


class NormalisedMessage(TypedDict):
    """IoTa's message: ``broker_correlation_id`` the raw message's correlation id (a UUID string), ``p_uid`` the
    physical device (the device's integer id), ``l_uid`` the logical device (None when unmapped or paused),
    ``timestamp`` the default time of the values and ``timestamp_received`` when the platform got the message (both
    ISO-8601, UTC), ``timeseries`` the values. ``p_slug``, ``org_id`` (the organisation's id, a UUID string) and
    ``source`` (``http``, ``mqtt``, ``ttn``) are the platform's additions."""

    broker_correlation_id: str
    p_uid: int
    l_uid: int | None
    timestamp: str
    timestamp_received: str
    timeseries: list[TimeseriesPoint]
    p_slug: str
    org_id: str
    source: str


RoutedConsumer = Callable[..., Any]  # consumer(*, messages: Sequence[NormalisedMessage]) -> Any

routed_consumers: list[RoutedConsumer] = []


def register_routed_consumer(consumer: RoutedConsumer) -> RoutedConsumer:
    if consumer not in routed_consumers:
        routed_consumers.append(consumer)
    return consumer


def routed_messages_offer(*, messages: Sequence[NormalisedMessage]) -> None:
    """Give the routed messages of a batch to every registered consumer (none by default)."""
    if not messages:
        return
    for consumer in routed_consumers:
        consumer(messages=messages)
