"""Dashboard forms. They validate input at the edge; the services do the work."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms

from server.apps.core.errors import ApplicationError


class ServiceErrorsMixin:
    """Shows a service's ApplicationError on the form: field errors where the service names fields, else on top."""

    def add_service_error(self, error: ApplicationError) -> None:
        placed = False
        for field, messages in error.extra.items():
            if field in self.fields:
                for message in messages if isinstance(messages, list | tuple) else [messages]:
                    self.add_error(field, str(message))
                placed = True
        if not placed:
            self.add_error(None, error.message)


class OrgCreateForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Acme Water Monitoring", "autocomplete": "organization"}),
    )
    about = forms.CharField(
        required=False,
        label="About",
        help_text="Optional: what this organisation monitors.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the organisation a name.")
        return name
