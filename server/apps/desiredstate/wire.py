"""What a Kanto update manager reports besides its feedback (``operation.wire.feedback_reply``): its current state,
the inventory of its hardware, its software and how they are associated, in Kanto's envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.apps.operation.wire import MessageError, kanto_envelope

MAX_NODES = 5000


@dataclass(frozen=True)
class CurrentState:
    activity_id: str
    hardware_nodes: list[dict[str, Any]]
    software_nodes: list[dict[str, Any]]
    associations: list[dict[str, Any]]


def _nodes(payload: dict[str, Any], field: str) -> list[dict[str, Any]]:
    nodes = payload.get(field) or []
    if not isinstance(nodes, list) or len(nodes) > MAX_NODES or not all(isinstance(node, dict) for node in nodes):
        raise MessageError(f"The current state's {field} is a list of at most {MAX_NODES} objects.")
    return nodes


def current_state_from(body: Any) -> CurrentState:
    """A ``currentstate`` message: the device's inventory (``hardwareNodes``, ``softwareNodes``, ``associations``)."""
    activity, payload = kanto_envelope(body, "current state")
    software = _nodes(payload, "softwareNodes")
    for index, node in enumerate(software):
        if not isinstance(node.get("id"), str) or not node["id"]:
            raise MessageError(f"softwareNodes[{index}] has no id.")
    return CurrentState(
        activity_id=activity,
        hardware_nodes=_nodes(payload, "hardwareNodes"),
        software_nodes=software,
        associations=_nodes(payload, "associations"),
    )
