"""Forms of the staff pages: searches, run-log filters, batch creation of devices and device keys."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import DashboardForm
from server.apps.deviceauth.models import DEVICE_KEY_NAMES
from server.apps.devicetemplate.models import DeviceTemplate
from server.apps.sensorgraph.models import SensorGraph
from server.apps.staff.services import MAX_BATCH
from server.apps.worker.models import WorkerRunStatus


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")


class RunFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *WorkerRunStatus.choices])
    action = forms.CharField(required=False, max_length=100)


class DeviceBatchForm(DashboardForm):
    id_prefix = "batch"

    count = forms.IntegerField(min_value=1, max_value=MAX_BATCH, initial=10, label="How many")
    label_prefix = forms.CharField(
        required=False,
        max_length=80,
        label="Label prefix",
        help_text="Optional: “Pump” labels ten devices Pump 01 to Pump 10.",
    )
    sg = forms.ModelChoiceField(
        queryset=SensorGraph.objects.filter(active=True),
        to_field_name="slug",
        required=False,
        label="Sensor graph",
        empty_label="None",
    )
    template = forms.ModelChoiceField(
        queryset=DeviceTemplate.objects.filter(active=True),
        to_field_name="slug",
        required=False,
        label="Device template",
        empty_label="None",
    )

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        for field in ("sg", "template"):
            data[field] = data[field].slug if data[field] else None
        return data


class DeviceKeyForm(DashboardForm):
    """Sets (replaces) one of a device's keys; an empty secret makes a random one."""

    id_prefix = "key"

    type = forms.ChoiceField(
        choices=[(name, key_type.label) for name, key_type in DEVICE_KEY_NAMES.items()], label="Key"
    )
    secret = forms.CharField(
        required=False,
        max_length=4096,
        label="Secret",
        help_text="Leave empty for a new random one (an SSH key must be given). Shown once after saving.",
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false"}),
    )
    downloadable = forms.BooleanField(required=False, label="Members who may modify the device may download it")

    def service_fields(self) -> dict:
        return {
            "type": DEVICE_KEY_NAMES[self.cleaned_data["type"]],
            "secret": self.cleaned_data["secret"] or None,
            "downloadable": self.cleaned_data["downloadable"],
        }
