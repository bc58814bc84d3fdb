"""The transports that carry operations to devices, behind one interface.

``deliver(operations)`` hands a batch of PENDING operations to the devices and returns, for each one it could not
hand over, why (``{operation id: error}``). A transport that delivers when the device asks (HTTP polling) answers
``None``: its operations stay PENDING until then.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from server.apps.operation.models import DeviceOperation, Transport
from server.apps.operation.transports.mqtt import MqttDelivery
from server.apps.operation.transports.store import StoreDelivery


class HttpPolling:
    """Nothing to push: the device's poll (``operation/poll/``) hands its operations over and marks them SENT."""

    def deliver(self, operations: Sequence[DeviceOperation]) -> dict[UUID, str] | None:
        return None


def get_transport(transport: str) -> HttpPolling | MqttDelivery | StoreDelivery:
    if transport == Transport.MQTT:
        return MqttDelivery()
    if transport == Transport.STORE:
        return StoreDelivery()
    return HttpPolling()
