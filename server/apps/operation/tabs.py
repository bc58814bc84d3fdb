"""The device page's operations tab: the device's presence, the commands form, each operation with its history and
result, and the messages from the device that could not be read. The form is in ``views.py``."""

from __future__ import annotations

from typing import Any

from server.apps.core.views import paginate
from server.apps.device.tabs import DeviceTab, register_device_tab
from server.apps.operation.forms import CommandForm
from server.apps.operation.models import DeviceOperation
from server.apps.operation.selectors import (
    message_errors_for_device,
    operations_for_device,
    service_statuses_for_device,
)

OPERATIONS_PER_PAGE = 20
LATEST_ERRORS = 5


def operations_tab_context(*, request: Any, device: Any, can: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "operations": paginate(
            request,
            operations_for_device(user=request.user, device=device),
            param="operations",
            per_page=OPERATIONS_PER_PAGE,
        ),
        "message_errors": list(message_errors_for_device(user=request.user, device=device)[:LATEST_ERRORS]),
        "service_statuses": list(service_statuses_for_device(user=request.user, device=device)),
    }
    if can(DeviceOperation, "add"):
        context["command_form"] = CommandForm()
    return context


OPERATIONS_TAB = register_device_tab(
    DeviceTab(
        name="operations",
        label="Operations",
        icon="send",
        order=50,
        template_name="operation/device.html",
        context=operations_tab_context,
        permission=(DeviceOperation, "view"),
        # session, user, device (with its presence), role and permissions, the table (count, page), the errors,
        # the services' statuses
        queries=8,
    )
)
