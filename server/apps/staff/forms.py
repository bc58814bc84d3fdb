"""Forms of the staff pages: searches, run-log filters and batch creation of devices."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import DashboardForm
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
