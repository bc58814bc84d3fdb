"""Forms of the stream alias pages: a new alias, and a new tap on one."""

from __future__ import annotations

from django import forms

from server.apps.core import forms as core_forms
from server.apps.core.forms import DashboardForm
from server.apps.device.forms import UtcDateTimeInput


class StreamAliasForm(DashboardForm):
    id_prefix = "alias"

    name = forms.CharField(max_length=100, label="Name", help_text="What the series measures, e.g. “Inlet level”.")


class StreamAliasTapForm(DashboardForm):
    id_prefix = "tap"

    stream = forms.CharField(max_length=80, label="Stream", help_text="The slug of the stream to read (s--…).")
    timestamp = core_forms.DateTimeField(
        label="From (UTC)", widget=UtcDateTimeInput(), help_text="The alias reads this stream from then on."
    )
