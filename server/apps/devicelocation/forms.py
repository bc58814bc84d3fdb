"""The locations tab's form: recording where the device is."""

from __future__ import annotations

from django import forms

from server.apps.core import forms as core_forms
from server.apps.core.forms import DashboardForm
from server.apps.device.forms import UtcDateTimeInput


class DeviceLocationForm(DashboardForm):
    id_prefix = "location"

    lat = forms.DecimalField(max_digits=12, decimal_places=9, min_value=-90, max_value=90, label="Latitude")
    lon = forms.DecimalField(max_digits=12, decimal_places=9, min_value=-180, max_value=180, label="Longitude")
    timestamp = core_forms.DateTimeField(
        required=False, label="When (UTC)", widget=UtcDateTimeInput(), help_text="Leave it empty for now."
    )
