"""Forms of the device page: editing a device and unclaiming it."""

from __future__ import annotations

from typing import Any

from django import forms

from server.apps.core import forms as core_forms
from server.apps.core.forms import DashboardForm
from server.apps.device.models import MAX_LATITUDE, MAX_LONGITUDE
from server.apps.sensorgraph.models import SensorGraph


def coordinate_field(limit: int, **kwargs: Any) -> forms.DecimalField:
    """A latitude (``MAX_LATITUDE``) or longitude (``MAX_LONGITUDE``) in degrees; off the globe is a form error."""
    return forms.DecimalField(max_digits=12, decimal_places=9, min_value=-limit, max_value=limit, **kwargs)


class DeviceForm(DashboardForm):
    id_prefix = "device"

    label = forms.CharField(max_length=100, required=False, label="Label")
    external_id = forms.CharField(
        max_length=64, required=False, label="External id", help_text="Your own id for it, e.g. an asset number."
    )
    lat = coordinate_field(MAX_LATITUDE, required=False, label="Latitude")
    lon = coordinate_field(MAX_LONGITUDE, required=False, label="Longitude")
    sg = forms.ModelChoiceField(
        queryset=SensorGraph.objects.filter(active=True),
        to_field_name="slug",
        required=False,
        label="Sensor graph",
        empty_label="None",
        help_text="What the device runs; a new one adds the streams it reports.",
    )
    active = forms.BooleanField(required=False, label="Active", help_text="Clear it for a device taken out of service.")

    def service_fields(self) -> dict:
        """The cleaned data as ``device_update`` takes it (the sensor graph by slug)."""
        data = dict(self.cleaned_data)
        data["sg"] = data["sg"].slug if data["sg"] else None
        return data


class DeviceUnclaimForm(DashboardForm):
    id_prefix = "unclaim"

    clean_streams = forms.BooleanField(
        required=False,
        label="Also delete its streams and all their data",
        help_text="Leave this off to keep the data with the organisation.",
    )


class UtcDateTimeInput(forms.DateTimeInput):
    """A ``datetime-local`` input; the dashboard's times are UTC, as the page says next to the field."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs={"step": "1", **(attrs or {})}, format="%Y-%m-%dT%H:%M:%S")


class DeviceReplaceForm(DashboardForm):
    id_prefix = "replace"

    new_device = forms.CharField(
        max_length=64,
        label="New device",
        help_text="Its slug (d--1a2b works). An unclaimed device is claimed into this device's project.",
    )
    timestamp = core_forms.DateTimeField(
        label="Swapped at (UTC)",
        widget=UtcDateTimeInput(),
        help_text="Readings from this time on come from the new device.",
    )
    claim_key = forms.CharField(
        required=False,
        max_length=100,
        label="Claim key",
        help_text="Only for an unclaimed new device that came with one, e.g. 1A2B-3C4D-5E6F-7A8B.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
