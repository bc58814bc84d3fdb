"""The operations tab's form: queueing a command for the device, or for every device of its project."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import DashboardForm
from server.apps.operation.kinds import DEFAULT_SERVICE
from server.apps.operation.models import Transport


class CommandForm(DashboardForm):
    id_prefix = "command"

    command = forms.CharField(max_length=400, help_text="A call such as get_app_status() or stop_app('x').")
    service = forms.CharField(max_length=64, initial=DEFAULT_SERVICE)
    transport = forms.ChoiceField(choices=Transport.choices, initial=Transport.STORE)
    whole_project = forms.BooleanField(required=False, label="Every device of the project")
