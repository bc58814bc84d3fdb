"""Forms of the project pages: creating a project, its settings, and claiming a device into it."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import DashboardForm
from server.apps.project.models import RETENTION_MAX_DAYS


class ProjectForm(DashboardForm):
    id_prefix = "project"

    name = forms.CharField(
        max_length=100, label="Name", widget=forms.TextInput(attrs={"placeholder": "e.g. North basin"})
    )
    about = forms.CharField(
        required=False,
        label="About",
        help_text="Optional: what the project's devices measure.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the project a name.")
        return name


class ProjectSettingsForm(ProjectForm):
    """The project page's settings: the name and description, and how ingestion treats unknown variables."""

    auto_create_streams = forms.BooleanField(
        required=False,
        label="Create streams for new variables",
        help_text="When a device reports a variable the project has no stream for, create the variable and its "
        "stream. When off, those readings are skipped.",
    )


class ProjectRetentionForm(DashboardForm):
    """How long the project keeps its data and events (owners only). Empty keeps everything."""

    id_prefix = "retention"

    data_retention_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=RETENTION_MAX_DAYS,
        label="Keep stream data (days)",
        help_text="Readings older than this are removed every day, for good. Empty keeps all of them.",
    )
    event_retention_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=RETENTION_MAX_DAYS,
        label="Keep events (days)",
        help_text="Events older than this are removed with their files. Empty keeps all of them.",
    )


class DeviceClaimForm(DashboardForm):
    id_prefix = "claim"

    device = forms.CharField(
        max_length=40,
        label="Device",
        help_text="Its slug as printed on the device, e.g. d--0000-0000-0000-00a1 (short forms like d--a1 work).",
        widget=forms.TextInput(attrs={"placeholder": "d--0000-0000-0000-0000", "autocomplete": "off"}),
    )

    claim_key = forms.CharField(
        required=False,
        max_length=100,
        label="Claim key",
        help_text="Only for a device that came with one, e.g. 1A2B-3C4D-5E6F-7A8B.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_device(self) -> str:
        return self.cleaned_data["device"].strip()
