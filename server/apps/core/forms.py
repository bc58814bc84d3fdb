"""Bases and fields for the dashboard's forms. Forms validate input at the edge; the services do the work."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput

from server.apps.core.errors import ApplicationError
from server.apps.core.inputs import InputError, json_loads, utc_datetime
from server.apps.core.outbound import validate_outbound_url

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


class JSONField(forms.JSONField):
    """Django's JSON form field with the strict decoding of core/inputs.py: too deep, NUL characters, lone
    surrogates and non-finite numbers are a form error, not a 500, and the form shows again what was typed."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value not in self.empty_values and not self.disabled:
            try:
                json_loads(value)
            except InputError as exc:
                raise ValidationError(str(exc), code="invalid") from exc
        return super().to_python(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        if isinstance(data, str) and not self.disabled:
            try:
                json_loads(data)
            except InputError:
                return InvalidJSONInput(data)
        return super().bound_data(data, initial)


def utc_or_invalid(value: datetime.datetime | None) -> datetime.datetime | None:
    """A parsed time in UTC for a form field; one UTC cannot hold is the field's error."""
    if value is None:
        return None
    try:
        return utc_datetime(value)
    except InputError as exc:
        raise ValidationError(str(exc), code="invalid") from exc


class DateTimeField(forms.DateTimeField):
    """Django's date and time form field, in UTC: an offset PostgreSQL cannot hold (``-18:04``) is turned into UTC,
    and a time UTC cannot hold is a form error."""

    def to_python(self, value: Any) -> datetime.datetime | None:
        return utc_or_invalid(super().to_python(value))


class OutboundURLField(forms.URLField):
    """A URL the platform sends to for a user (a webhook), checked by the outbound guard (core/outbound.py) so the
    form says why a URL is refused."""

    default_validators = [validate_outbound_url]
