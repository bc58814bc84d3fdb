"""The device page's health tab: the device's status (OK, FAIL, UNK), when it changed and when the platform last heard
from it, its expected period and its recipients, and the form that sets those two for owners and administrators.
Its form action is in ``views.py``."""

from __future__ import annotations

from server.apps.device.tabs import DeviceTab, register_device_tab
from server.apps.health.forms import DeviceHealthForm
from server.apps.health.models import DeviceHealth
from server.apps.health.selectors import device_health_for


def health_tab_context(*, request, device, can) -> dict:
    health = device_health_for(device=device)
    context: dict = {"health": health}
    if can(DeviceHealth, "change"):
        context["health_form"] = DeviceHealthForm(
            initial={
                "period_minutes": int(health.period.total_seconds() // 60),
                "recipients": health.recipients,
            }
        )
    return context


HEALTH_TAB = register_device_tab(
    DeviceTab(
        name="health",
        label="Health",
        icon="heart-pulse",
        order=60,
        template_name="health/device.html",
        context=health_tab_context,
        # session, user, device, the user's role and permissions, the health row
        queries=5,
    )
)
