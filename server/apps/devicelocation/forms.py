"""The locations tab's form: recording where the device is."""

from __future__ import annotations

from server.apps.core import forms as core_forms
from server.apps.core.forms import DashboardForm
from server.apps.device.forms import UtcDateTimeInput, coordinate_field
from server.apps.device.models import MAX_LATITUDE, MAX_LONGITUDE


class DeviceLocationForm(DashboardForm):
    id_prefix = "location"

    lat = coordinate_field(MAX_LATITUDE, label="Latitude")
    lon = coordinate_field(MAX_LONGITUDE, label="Longitude")
    timestamp = core_forms.DateTimeField(
        required=False, label="When (UTC)", widget=UtcDateTimeInput(), help_text="Leave it empty for now."
    )
