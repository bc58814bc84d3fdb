"""The notes tab's form: a note on the device, optionally with a file."""

from __future__ import annotations

from django import forms

from server.apps.core import forms as core_forms
from server.apps.core.forms import DashboardForm
from server.apps.device.forms import UtcDateTimeInput


class StreamNoteForm(DashboardForm):
    id_prefix = "note"

    note = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}))
    timestamp = core_forms.DateTimeField(
        required=False, label="When (UTC)", widget=UtcDateTimeInput(), help_text="Leave it empty for now."
    )
    attachment = forms.FileField(required=False, label="Attachment", help_text="A photo, a PDF, a log: up to 20 MB.")
