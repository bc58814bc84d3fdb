"""The files tab's forms: asking the device for its files now (with a file filter and an upload window), and
asking it periodically (a schedule)."""

from __future__ import annotations

from datetime import UTC

from django import forms

from server.apps.core.forms import DashboardForm, DateTimeField
from server.apps.deviceupload.models import MAX_EVERY_HOURS


def _file_filter_field() -> forms.CharField:
    # Named file_filter, not files: a form's ``files`` is its uploaded files.
    return forms.CharField(max_length=200, required=False, label="Files", help_text="A glob such as *.log; empty: all.")


class UploadRequestForm(DashboardForm):
    id_prefix = "upload"

    file_filter = _file_filter_field()
    window_from = DateTimeField(
        required=False,
        label="Window from (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="The period the device uploads files of.",
    )
    window_to = DateTimeField(
        required=False, label="Window to (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def payload(self) -> dict:
        """The ``upload`` operation's payload: Kanto's options and window (checked by the kind)."""
        data = self.cleaned_data
        payload: dict = {"options": {"files": data["file_filter"]} if data["file_filter"] else {}}
        for field, edge in (("window_from", "from"), ("window_to", "to")):
            if data[field] is not None:
                payload[edge] = data[field].replace(tzinfo=UTC).isoformat()
        return payload


class UploadScheduleForm(DashboardForm):
    id_prefix = "schedule"

    every_hours = forms.IntegerField(min_value=1, max_value=MAX_EVERY_HOURS, initial=24, label="Every (hours)")
    file_filter = _file_filter_field()
