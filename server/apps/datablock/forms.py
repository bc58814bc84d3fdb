"""Forms of the data block pages: archiving a device into a new block."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import DashboardForm
from server.apps.device.models import DeviceState

AFTER_CHOICES = [
    ("", "Active, ready for its next deployment"),
    (DeviceState.INACTIVE, "Inactive"),
]


class DataBlockForm(DashboardForm):
    id_prefix = "archive"

    title = forms.CharField(max_length=100, label="Title", help_text="What this deployment was, e.g. “Trip 12”.")
    description = forms.CharField(required=False, label="Description", widget=forms.Textarea(attrs={"rows": 2}))
    state = forms.ChoiceField(choices=AFTER_CHOICES, required=False, label="Afterwards the device is")
    label = forms.CharField(
        max_length=100, required=False, label="New label", help_text="Leave it empty to keep the device's label."
    )

    def service_fields(self) -> dict:
        """The cleaned data as ``datablock_create`` takes it (``on_complete`` from the state and label)."""
        data = self.cleaned_data
        on_complete = {key: data[key] for key in ("state", "label") if data.get(key)}
        return {"title": data["title"], "description": data["description"], "on_complete": on_complete}
