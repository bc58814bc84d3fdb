"""Objects for the telemetry tests, made through the real services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from server.apps.device.tests.factories import make_device
from server.apps.deviceauth.services import device_token_issue
from server.apps.streamalias.selectors import alias_data_rows, alias_tap_ranges
from server.apps.telemetry.message import register_routed_consumer, routed_consumers
from server.apps.telemetry.models import LogicalDevice, PhysicalDevice
from server.apps.telemetry.services.mapping import logical_device_create, physical_device_create


def telemetry_url(token: str) -> str:
    return f"/api/v1/{token}/telemetry"


def make_token(device) -> str:
    return device_token_issue(user=device.org.created_by, device=device)


def make_physical(project, **fields: Any) -> PhysicalDevice:
    return physical_device_create(
        user=project.org.created_by, project=project, name=fields.pop("name", "Sensor"), **fields
    )


def make_physical_of(device) -> PhysicalDevice:
    return physical_device_create(user=device.org.created_by, device=device, source_name="http")


def make_logical(project, name: str = "Tank 3") -> LogicalDevice:
    return logical_device_create(user=project.org.created_by, project=project, name=name)


def make_token_device(project):
    """A device of ``project`` and its token."""
    device = make_device(project, label="Posting sensor")
    return device, make_token(device)


def logical_values(logical: LogicalDevice, name: str) -> list[tuple[Any, float]]:
    """What the logical device's series ``name`` reads, oldest first: (timestamp, value)."""
    alias = logical.series.get(name=name).alias
    rows = alias_data_rows(ranges=alias_tap_ranges(alias=alias)).order_by("timestamp")
    return [(row.timestamp, row.value) for row in rows]


@contextmanager
def routed_consumer() -> Iterator[list[dict]]:
    """A routed-message consumer that keeps what it is offered, registered for the block."""
    received: list[dict] = []

    def consume(*, messages):
        received.extend(messages)

    register_routed_consumer(consume)
    try:
        yield received
    finally:
        routed_consumers.remove(consume)
