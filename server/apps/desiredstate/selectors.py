"""Reads on desired states: the user's rollouts, a rollout's campaign (each device's state and latest feedback),
and a device's latest desired state beside the inventory it reported, with how the two differ."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from server.apps.desiredstate.models import DesiredState, DeviceCurrentState
from server.apps.operation.kinds import DESIRED_STATE_NAME
from server.apps.operation.models import DeviceOperation, OperationStatus


def desired_state_list(*, user: Any, action: str = "view") -> QuerySet[DesiredState]:
    return DesiredState.objects.restrict(user, action)


def current_state_list(*, user: Any) -> QuerySet[DeviceCurrentState]:
    return DeviceCurrentState.objects.restrict(user, "view")


class RolloutState:
    """Where one device stands in a rollout: its operation's status, read with its latest feedback."""

    COMPLETED = "completed"  # the device reported COMPLETED
    RUNNING = "running"  # it reported progress (RUNNING, DOWNLOAD_COMPLETED, …)
    SENT = "sent"  # delivered, no feedback yet
    PENDING = "pending"  # not delivered yet
    FAILED = "failed"  # it reported a failure, or never finished (timed out)
    SUPERSEDED = "superseded"  # a newer desired state replaced it
    CANCELED = "canceled"

    LABELS = {
        COMPLETED: "Completed",
        RUNNING: "Running",
        SENT: "Sent",
        PENDING: "Pending",
        FAILED: "Failed",
        SUPERSEDED: "Superseded",
        CANCELED: "Canceled",
    }
    ORDER = (COMPLETED, RUNNING, SENT, PENDING, FAILED, SUPERSEDED, CANCELED)
    BY_STATUS = {
        OperationStatus.SUCCEEDED: COMPLETED,
        OperationStatus.PENDING: PENDING,
        OperationStatus.FAILED: FAILED,
        OperationStatus.TIMED_OUT: FAILED,
        OperationStatus.SUPERSEDED: SUPERSEDED,
        OperationStatus.CANCELED: CANCELED,
    }


def rollout_state(operation: DeviceOperation) -> str:
    if operation.status == OperationStatus.SENT:
        return RolloutState.RUNNING if operation.result else RolloutState.SENT
    return RolloutState.BY_STATUS[OperationStatus(operation.status)]


def feedback_message(operation: DeviceOperation) -> str:
    """The device's latest word: its feedback's message, else its latest action's, else the operation's error."""
    feedback = operation.result if isinstance(operation.result, dict) else {}
    if feedback.get("message"):
        return str(feedback["message"])
    for action in reversed(feedback.get("actions") or []):
        if action.get("message"):
            return str(action["message"])
    return operation.error


def _row(operation: DeviceOperation) -> dict[str, Any]:
    feedback = operation.result if isinstance(operation.result, dict) else {}
    state = rollout_state(operation)
    return {
        "device": operation.device.slug,
        "label": operation.device.label,
        "activity": str(operation.id),
        "state": state,
        "state_label": RolloutState.LABELS[state],
        "feedback": feedback.get("status", ""),
        "attempts": operation.attempts,
        "message": feedback_message(operation),
        "updated": operation.history[-1]["at"] if operation.history else None,
    }


def desired_state_campaign(*, desired_state: DesiredState) -> dict[str, Any]:
    """A rollout's progress, device by device (the campaign page and ``status.json``): one query for the devices'
    operations whatever their number."""
    operations = (
        DeviceOperation.objects.filter(batch=desired_state.batch, kind=DESIRED_STATE_NAME)
        .select_related("device")
        .order_by("device_id")
    )
    rows = [_row(operation) for operation in operations]
    counts = dict.fromkeys(RolloutState.ORDER, 0)
    for row in rows:
        counts[row["state"]] += 1
    targets = len(rows)
    open_count = counts[RolloutState.RUNNING] + counts[RolloutState.SENT] + counts[RolloutState.PENDING]
    if desired_state.canceled_on:
        status = "Canceled"
    elif open_count:
        status = "Running"
    elif counts[RolloutState.COMPLETED] == targets:
        status = "Completed"
    else:
        status = "Finished"
    return {
        "status": status,
        "done": not open_count,
        "progress": round(100 * counts[RolloutState.COMPLETED] / targets, 1) if targets else 0,
        "targets": targets,
        "counts": [
            {"state": state, "label": RolloutState.LABELS[state], "count": counts[state]}
            for state in RolloutState.ORDER
        ],
        "devices": rows,
    }


def latest_desired_operation(*, device: Any) -> DeviceOperation | None:
    """The newest desired state sent to ``device`` (by itself or through a fleet)."""
    return (
        DeviceOperation.objects.filter(device=device, org_id=device.org_id, kind=DESIRED_STATE_NAME)
        .order_by("-created_on", "-id")
        .first()
    )


def state_difference(*, document: dict[str, Any] | None, software_nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each desired component beside what the inventory holds (``same``, ``other version``, ``missing``), then the
    components the inventory holds in a desired domain that the desired state leaves out (``not desired``: the
    update removes them). Software nodes are named ``<domain>:<component>``, as Kanto's inventory names them."""
    installed = {str(node.get("id")): str(node.get("version", "")) for node in software_nodes}
    rows = []
    desired_names = set()
    domains = (document or {}).get("domains") or []
    for domain in domains:
        for component in domain.get("components") or []:
            name = f"{domain['id']}:{component['id']}"
            desired_names.add(name)
            current = installed.get(name)
            if current is None:
                difference = "missing"
            elif current == component.get("version", ""):
                difference = "same"
            else:
                difference = "other version"
            rows.append(
                {
                    "component": name,
                    "desired": component.get("version", ""),
                    "current": current,
                    "difference": difference,
                }
            )
    prefixes = tuple(f"{domain['id']}:" for domain in domains)
    for name, version in sorted(installed.items()):
        if prefixes and name.startswith(prefixes) and name not in desired_names:
            rows.append({"component": name, "desired": None, "current": version, "difference": "not desired"})
    return rows
