"""The device page's notes tab: a timeline of the notes on the device and its streams, newest first, and a form
to add one for roles that read notes (``can_read_notes``, which is what adding needs)."""

from __future__ import annotations

from django.db.models import Q

from server.apps.core import targets
from server.apps.core.api.routers import api_url
from server.apps.core.targets import target_for_object
from server.apps.core.views import ScopedFormAction, paginate
from server.apps.device.views import DeviceSectionView, device_url
from server.apps.stream.models import StreamId
from server.apps.streamnote.forms import StreamNoteForm
from server.apps.streamnote.models import StreamNote
from server.apps.streamnote.selectors import stream_note_list
from server.apps.streamnote.services import stream_note_create

NOTES_PER_PAGE = 20


class DeviceNotesView(DeviceSectionView):
    """``/org/<org>/device/<d-->/notes/``: two queries for the timeline (count and page), the streams' slugs read
    in the same query as a subquery."""

    template_name = "streamnote/device.html"
    section = "notes"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device = self.object
        stream_slugs = StreamId.objects.filter(device=device, block__isnull=True).values("slug")
        notes = stream_note_list(user=self.request.user).filter(
            Q(target=device.slug) | Q(target__in=stream_slugs), org_id=device.org_id
        )
        page = paginate(self.request, notes.order_by("-timestamp", "-id"), param="notes", per_page=NOTES_PER_PAGE)
        for note in page:
            note.on_stream = note.target_kind == targets.STREAM
            note.attachment_url = api_url("note-attachment", id=note.pk) if note.attachment else ""
            note.attachment_name = note.attachment.rsplit("/", 1)[-1] if note.attachment else ""
        context["notes"] = page
        if self.can.add_streamnote:
            context.setdefault("note_form", StreamNoteForm())
        return context


class StreamNoteCreateView(ScopedFormAction, DeviceNotesView):
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
        return self.done("Note added.", device_url(self.object, "streamnote:device"))
