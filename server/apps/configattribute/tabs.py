"""The device page's configuration tab: for each config name that applies to the device, the value and the level
it comes from (the device, its project, its organisation or the user), as ``config/attr/search/`` resolves it, read
in one query whatever the number of levels; and the form that sets a value on the device for roles with
``can_modify_device``. Its forms are in ``views.py``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.apps.configattribute.forms import ConfigAttributeForm, json_text
from server.apps.configattribute.models import ConfigAttribute
from server.apps.configattribute.selectors import config_attributes_resolved
from server.apps.core import targets
from server.apps.device.models import Device
from server.apps.device.tabs import DeviceTab, register_device_tab

LEVELS = {
    targets.DEVICE: "This device",
    targets.PROJECT: "Project",
    targets.ORG: "Organisation",
    targets.USER: "You",
}


@dataclass(frozen=True)
class ConfigRow:
    """A row of the tab: the attribute that applies, the level it comes from, whether that is the device itself, and
    its value as JSON text."""

    attribute: ConfigAttribute
    level: str
    on_device: bool
    data_text: str


def config_tab_context(*, request, device, can) -> dict[str, Any]:
    attributes = [
        ConfigRow(
            attribute=attribute,
            level=LEVELS.get(attribute.target_kind, attribute.target_kind),
            on_device=attribute.target == device.slug,
            data_text=json_text(attribute.data),
        )
        for attribute in config_attributes_resolved(user=request.user, target=device)
    ]
    context: dict[str, Any] = {"attributes": attributes}
    if can(Device, "change"):
        context["config_form"] = ConfigAttributeForm()
    return context


CONFIG_TAB = register_device_tab(
    DeviceTab(
        name="config",
        label="Configuration",
        icon="sliders",
        order=20,
        template_name="configattribute/device.html",
        context=config_tab_context,
        # session, user, device, the user's role and permissions, the attributes of every level, the form's names
        queries=6,
    )
)
