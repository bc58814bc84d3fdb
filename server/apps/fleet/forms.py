"""Forms of the fleet pages: a new fleet, adding a device to one, taking one out."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import DashboardForm


class FleetForm(DashboardForm):
    id_prefix = "fleet"

    name = forms.CharField(max_length=100, label="Name", help_text="Unique in the organisation, e.g. “North field”.")
    description = forms.CharField(required=False, label="Description", widget=forms.Textarea(attrs={"rows": 2}))
    is_network = forms.BooleanField(
        required=False, label="Gateway network", help_text="Its access points manage the other members."
    )


class FleetMemberForm(DashboardForm):
    id_prefix = "member"

    device = forms.ChoiceField(label="Device")
    is_access_point = forms.BooleanField(required=False, label="Access point (a gateway)")
    always_on = forms.BooleanField(required=False, label="Always on")

    def __init__(self, *args, devices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["device"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (device.slug, f"{device.label} ({device.slug})" if device.label else device.slug) for device in devices
        ]


class FleetMemberRemoveForm(DashboardForm):
    id_prefix = "remove"

    device = forms.CharField(widget=forms.HiddenInput)
