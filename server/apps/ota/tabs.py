"""The device page's updates tab: the OS and app versions the device reported, the fleets it is in, and its
progress on each deployment (its updater's attempts and its own confirmation), newest first."""

from __future__ import annotations

from typing import Any

from server.apps.core.views import paginate
from server.apps.device.tabs import DeviceTab, register_device_tab
from server.apps.fleet.models import FleetMembership
from server.apps.ota.models import DeploymentAction, DeviceVersionAttribute
from server.apps.ota.selectors import action_list

ACTIONS_PER_PAGE = 20


def updates_tab_context(*, request, device, can) -> dict[str, Any]:
    """Four queries: the versions, the fleets, and the deployments (count and page)."""
    actions = (
        action_list(user=request.user)
        .filter(device=device, deployment__org_id=device.org_id)
        .select_related("deployment__script")
        .order_by("-deployment_id")
    )
    for_device = FleetMembership.objects.filter(device=device, fleet__org_id=device.org_id)
    return {
        "versions": list(DeviceVersionAttribute.objects.filter(device=device)),
        "memberships": list(for_device.select_related("fleet").order_by("fleet__name")),
        "actions": paginate(request, actions, param="updates", per_page=ACTIONS_PER_PAGE),
    }


UPDATES_TAB = register_device_tab(
    DeviceTab(
        name="updates",
        label="Updates",
        icon="cloud-arrow-down",
        order=60,
        template_name="ota/device.html",
        permission=(DeploymentAction, "view"),
        context=updates_tab_context,
        # session, user, device, the user's role and permissions, versions, fleets, deployments (count, page)
        queries=8,
    )
)
