"""Forms of the forwarding pages: a new destination, and the replay of its dead letters."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import ButtonForm, DashboardForm, JSONField, OutboundURLField
from server.apps.forwarding.models import DestinationKind


class DestinationForm(DashboardForm):
    id_prefix = "destination"

    name = forms.CharField(max_length=100, label="Name", help_text="Unique in the organisation.")
    kind = forms.ChoiceField(choices=DestinationKind.choices, label="Kind")
    url = OutboundURLField(max_length=500, required=False, label="Webhook URL", assume_scheme="https")
    headers = JSONField(
        required=False, initial=dict, label="Headers", help_text='A JSON object, e.g. {"Authorization": "Bearer …"}.'
    )
    secret = forms.CharField(
        max_length=200, required=False, label="Signing secret", help_text="Signs each body (X-Signature-SHA256)."
    )
    store = forms.CharField(max_length=63, required=False, initial="delivery", label="Store (files)")
    key_prefix = forms.CharField(max_length=200, required=False, label="Key prefix (files)")

    def clean_headers(self):
        return self.cleaned_data.get("headers") or {}

    def destination_fields(self) -> dict:
        """The cleaned data as the service names it (a form's own ``prefix`` attribute is taken)."""
        fields = dict(self.cleaned_data)
        fields["prefix"] = fields.pop("key_prefix")
        return fields

    def clean_store(self):
        return self.cleaned_data.get("store") or "delivery"


class ReplayForm(ButtonForm):
    id_prefix = "replay"
