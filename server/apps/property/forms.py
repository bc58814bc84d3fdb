"""Forms of the properties tab: adding and changing a property."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import ButtonForm, DashboardForm
from server.apps.property.models import STR_VALUE_MAX_LENGTH, PropertyType

TYPE_CHOICES = [("", "From the value"), *PropertyType.choices]


class PropertyForm(DashboardForm):
    id_prefix = "property"

    name = forms.CharField(max_length=60, label="Name")
    value = forms.CharField(max_length=STR_VALUE_MAX_LENGTH, label="Value", required=False)
    type = forms.ChoiceField(
        choices=TYPE_CHOICES,
        required=False,
        label="Type",
        help_text="A number is an integer, true/false a yes/no; the organisation's template, if any, decides.",
    )

    def value_for_service(self):
        """The value as the API would send it: an integer or a boolean when the text is one and no type is
        chosen, so "12" becomes an integer property as it would from JSON."""
        value, type_ = self.cleaned_data["value"], self.cleaned_data["type"]
        if type_:
            return value
        text = value.strip()
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        if text.isascii() and text.lstrip("-").isdecimal():
            return int(text)
        return value


class PropertyEditForm(PropertyForm):
    id_prefix = "property-edit"


class PropertyDeleteForm(ButtonForm):
    pass
