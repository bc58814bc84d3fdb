"""The locations tab's form (the tab is in ``tabs.py``): recording a location, which moves the device's position to
its latest one."""

from __future__ import annotations

from server.apps.core.targets import target_for_object
from server.apps.device.views import DeviceTabFormAction
from server.apps.devicelocation.forms import DeviceLocationForm
from server.apps.devicelocation.models import DeviceLocation
from server.apps.devicelocation.services import device_location_create
from server.apps.devicelocation.tabs import LOCATIONS_TAB


class DeviceLocationCreateView(DeviceTabFormAction):
    tab = LOCATIONS_TAB
    form_class = DeviceLocationForm
    form_name = "location_form"
    scope_model = DeviceLocation
    scope_action = "add"

    def form_valid(self, form):
        data = form.cleaned_data
        device_location_create(
            user=self.request.user,
            target=target_for_object(self.object),
            lat=data["lat"],
            lon=data["lon"],
            timestamp=data["timestamp"],
        )
        return self.done("Location recorded.", self.tab_url())
