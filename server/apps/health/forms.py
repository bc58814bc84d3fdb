"""The device page's health form: how long the device may stay quiet, and who is told of a change."""

from __future__ import annotations

from datetime import timedelta

from django import forms

from server.apps.core.forms import DashboardForm


class DeviceHealthForm(DashboardForm):
    id_prefix = "health"

    period_minutes = forms.IntegerField(
        min_value=1,
        max_value=90 * 24 * 60,
        label="Expected period (minutes)",
        help_text="How long the device may stay quiet (no report, no message) and still be OK.",
    )
    recipients = forms.CharField(
        required=False,
        label="Recipients",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ops@example.com"}),
        help_text="E-mail addresses told of each change of status, one a line.",
    )

    def service_fields(self) -> dict:
        return {
            "period": timedelta(minutes=self.cleaned_data["period_minutes"]),
            "recipients": self.cleaned_data["recipients"].splitlines(),
        }
