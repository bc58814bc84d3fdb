"""Forms of the configuration tab: setting a config attribute on a device."""

from __future__ import annotations

import json

from django import forms

from server.apps.configattribute.models import ConfigAttributeName
from server.apps.core import forms as core_forms
from server.apps.core.forms import ButtonForm, DashboardForm


class ConfigAttributeForm(DashboardForm):
    id_prefix = "config"

    name = forms.ModelChoiceField(
        queryset=ConfigAttributeName.objects.all(),
        to_field_name="name",
        label="Name",
        empty_label="Choose a name",
        help_text="Names are shared by every organisation; staff add them.",
    )
    # Django's form metaclass takes declared fields off the class, so this does not hide BaseForm.data.
    data = core_forms.JSONField(  # type: ignore[assignment]
        label="Value (JSON)",
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace-sm", "spellcheck": "false"}),
        help_text='Any JSON: {"interval": 60}, a list, a number or a string in quotes.',
    )

    def clean_data(self):
        data = self.cleaned_data["data"]
        # An empty box would be stored as null; say so rather than guess.
        if data is None:
            raise forms.ValidationError("Enter a JSON value.")
        return data


def json_text(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


class ConfigAttributeDeleteForm(ButtonForm):
    pass
