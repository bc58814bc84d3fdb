"""The device page's properties tab: the device's properties, 50 to a page, and the form that adds one for roles
with ``can_modify_device_properties``. The tab is hidden from roles without ``can_read_device_properties``, and its
list is empty for them. Its forms are in ``views.py``."""

from __future__ import annotations

from typing import Any

from server.apps.core.views import paginate
from server.apps.device.tabs import DeviceTab, register_device_tab
from server.apps.property.forms import PropertyForm
from server.apps.property.models import GenericProperty
from server.apps.property.selectors import properties_for

PROPERTIES_PER_PAGE = 50


def properties_tab_context(*, request, device, can) -> dict[str, Any]:
    properties = properties_for(user=request.user, target=device).order_by("name")
    page = paginate(request, properties, param="properties", per_page=PROPERTIES_PER_PAGE)
    context: dict[str, Any] = {"properties": page}
    if can(GenericProperty, "add"):
        context["property_form"] = PropertyForm()
    return context


PROPERTIES_TAB = register_device_tab(
    DeviceTab(
        name="properties",
        label="Properties",
        icon="tags",
        order=10,
        template_name="property/device.html",
        permission=(GenericProperty, "view"),
        context=properties_tab_context,
        # session, user, device, the user's role and permissions, properties (count, page)
        queries=6,
    )
)
