"""The device page's desired-state tab: the latest desired state sent to the device with its feedback (each action's
component, status, progress and message), the inventory it reported, how the two differ, and every version sent."""

from __future__ import annotations

import json
from typing import Any

from server.apps.core.forms import ButtonForm
from server.apps.core.views import paginate
from server.apps.desiredstate.models import DesiredState, DeviceCurrentState
from server.apps.desiredstate.selectors import (
    RolloutState,
    feedback_message,
    latest_desired_operation,
    rollout_state,
    state_difference,
)
from server.apps.device.tabs import DeviceTab, register_device_tab
from server.apps.operation.kinds import DESIRED_STATE_NAME
from server.apps.operation.models import DeviceOperation

PER_PAGE = 20


def desired_state_tab_context(*, request: Any, device: Any, can: Any) -> dict[str, Any]:
    """Five queries: the latest operation, the inventory, the versions (count and page) and their rollouts."""
    latest = latest_desired_operation(device=device)
    current = DeviceCurrentState.objects.filter(device=device, org_id=device.org_id).first()
    sent = DeviceOperation.objects.filter(device=device, org_id=device.org_id, kind=DESIRED_STATE_NAME).order_by(
        "-created_on", "-id"
    )
    page = paginate(request, sent, param="desired", per_page=PER_PAGE)
    rollouts = {
        desired.batch: desired
        for desired in DesiredState.objects.filter(batch__in=[op.batch for op in page.object_list if op.batch])
    }
    rows = [
        {
            "operation": operation,
            "rollout": rollouts.get(operation.batch),
            "state": rollout_state(operation),
            "state_label": RolloutState.LABELS[rollout_state(operation)],
            "message": feedback_message(operation),
        }
        for operation in page.object_list
    ]
    context: dict[str, Any] = {"sent": page, "rows": rows, "current_state": current, "latest": latest}
    if can(DeviceOperation, "add"):
        context["refresh_form"] = ButtonForm()
    if latest is not None:
        context["latest_state"] = rollout_state(latest)
        context["latest_feedback"] = latest.result if isinstance(latest.result, dict) else {}
        context["latest_document"] = json.dumps(latest.payload, indent=2)
        context["difference"] = state_difference(
            document=latest.payload, software_nodes=current.software_nodes if current else []
        )
    return context


DESIRED_STATE_TAB = register_device_tab(
    DeviceTab(
        name="desiredstate",
        label="Desired state",
        icon="diagram-3",
        order=65,
        template_name="desiredstate/device.html",
        permission=(DesiredState, "view"),
        context=desired_state_tab_context,
        # session, user, device, the user's role and permissions, the latest, the inventory, the versions (count,
        # page), their rollouts
        queries=9,
    )
)
