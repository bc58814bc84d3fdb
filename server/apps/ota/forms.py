"""Forms of the software update pages: uploading a script, and deploying one."""

from __future__ import annotations

from django import forms

from server.apps.core.errors import ApplicationError
from server.apps.core.forms import DashboardForm
from server.apps.ota.criteria import parse_criterion


class ScriptUploadForm(DashboardForm):
    id_prefix = "script"

    name = forms.CharField(max_length=100, label="Name", help_text="What the script updates, e.g. “Controller”.")
    version = forms.CharField(max_length=20, label="Version", help_text="major.minor.patch, e.g. 2.1.0")
    file = forms.FileField(label="Script file", help_text="The update script (.trub for IOTile devices).")
    notes = forms.CharField(required=False, label="Notes", widget=forms.Textarea(attrs={"rows": 2}))


class DeploymentForm(DashboardForm):
    id_prefix = "deployment"

    script = forms.ChoiceField(label="Script")
    fleet = forms.ChoiceField(label="Fleet", required=False)
    selection_criteria = forms.CharField(
        required=False,
        label="Selection criteria",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "os_tag:eq:1024\napp_version:lt:2.1"}),
        help_text="One per line, all must hold: os_tag, app_tag, os_version, app_version, controller_hw_tag with "
        "eq, lt, lte, gt, gte.",
    )
    app_tag = forms.IntegerField(required=False, min_value=0, max_value=(1 << 20) - 1, label="Installs app tag")
    app_version = forms.CharField(required=False, max_length=10, label="Installs app version", help_text="e.g. 2.1")
    os_tag = forms.IntegerField(required=False, min_value=0, max_value=(1 << 20) - 1, label="Installs OS tag")
    os_version = forms.CharField(required=False, max_length=10, label="Installs OS version")
    release = forms.BooleanField(required=False, initial=True, label="Release now")

    def __init__(self, *args, scripts=(), fleets=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        script, fleet = self.fields["script"], self.fields["fleet"]
        assert isinstance(script, forms.ChoiceField)
        assert isinstance(fleet, forms.ChoiceField)
        script.choices = [(s.slug, f"{s.name} {s.version} ({s.slug})") for s in scripts]
        fleet.choices = [("", "Every device of the organisation")] + [(f.slug, f"{f.name} ({f.slug})") for f in fleets]

    def clean_selection_criteria(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["selection_criteria"].splitlines() if line.strip()]
        try:
            return [str(parse_criterion(line)) for line in lines]
        except ApplicationError as error:  # its message names the criterion
            raise forms.ValidationError(error.message) from error

    def side_effect(self) -> dict:
        """What the script installs, as the deployment's ``side_effect``."""
        names = ("app_tag", "app_version", "os_tag", "os_version")
        return {name: self.cleaned_data[name] for name in names if self.cleaned_data.get(name) not in (None, "")}
