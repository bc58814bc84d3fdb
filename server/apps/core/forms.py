"""Bases for the dashboard's forms. Forms validate input at the edge; the services do the work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crispy_forms.helper import FormHelper
from django import forms

from server.apps.core.errors import ApplicationError

if TYPE_CHECKING:  # the base of the form mixins, for the type checker: what they are mixed into
    FormMixinBase = forms.BaseForm
else:
    FormMixinBase = object


class ServiceErrorsMixin(FormMixinBase):
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


class DashboardForm(ServiceErrorsMixin, forms.Form):
    """A form rendered with crispy-bootstrap5 inside a template's own ``<form>`` tag.

    ``id_prefix`` keeps the ids of its fields apart from those of the other forms on the same page (two forms with
    a ``name`` field must not both have ``id_name``, or a label would name the other form's input).
    """

    id_prefix = "id"

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class ButtonForm(DashboardForm):
    """A button with nothing to fill in (remove, withdraw, requeue): the form only carries the CSRF token."""
