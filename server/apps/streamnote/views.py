"""The notes tab's form (the tab is in ``tabs.py``): adding a note to the device, with an optional time and file."""

from __future__ import annotations

from server.apps.core.targets import target_for_object
from server.apps.device.views import DeviceTabFormAction
from server.apps.streamnote.forms import StreamNoteForm
from server.apps.streamnote.models import StreamNote
from server.apps.streamnote.services import stream_note_create
from server.apps.streamnote.tabs import NOTES_TAB


class StreamNoteCreateView(DeviceTabFormAction):
    tab = NOTES_TAB
    form_class = StreamNoteForm
    form_name = "note_form"
    scope_model = StreamNote
    scope_action = "add"

    def form_valid(self, form):
        data = form.cleaned_data
        stream_note_create(
            user=self.request.user,
            target=target_for_object(self.object),
            note=data["note"],
            timestamp=data["timestamp"],
            attachment=data["attachment"],
        )
        return self.done("Note added.", self.tab_url())
