"""The health tab's form (the tab is in ``tabs.py``): setting a device's expected period and recipients."""

from __future__ import annotations

from server.apps.device.views import DeviceTabFormAction
from server.apps.health.forms import DeviceHealthForm
from server.apps.health.models import DeviceHealth
from server.apps.health.services import device_health_update
from server.apps.health.tabs import HEALTH_TAB


class DeviceHealthUpdateView(DeviceTabFormAction):
    tab = HEALTH_TAB
    form_class = DeviceHealthForm
    form_name = "health_form"
    scope_model = DeviceHealth
    scope_action = "change"

    def form_valid(self, form):
        device_health_update(user=self.request.user, device=self.object, **form.service_fields())
        return self.done("Health settings saved.", self.tab_url())
