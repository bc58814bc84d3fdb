"""The device page's notes tab: a timeline of the notes on the device and its streams, newest first, and the form
that adds one for roles that read notes (``can_read_notes``, which is what adding needs). Its form is in
``views.py``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from server.apps.core import targets
from server.apps.core.api.routers import api_url
from server.apps.core.views import paginate
from server.apps.device.tabs import DeviceTab, register_device_tab
from server.apps.stream.models import StreamId
from server.apps.streamnote.forms import StreamNoteForm
from server.apps.streamnote.models import StreamNote
from server.apps.streamnote.selectors import stream_note_list

NOTES_PER_PAGE = 20


def notes_tab_context(*, request, device, can) -> dict[str, Any]:
    """Two queries for the timeline (count and page), the streams' slugs read in the same query as a subquery."""
    stream_slugs = StreamId.objects.filter(device=device, block__isnull=True).values("slug")
    notes = stream_note_list(user=request.user).filter(
        Q(target=device.slug) | Q(target__in=stream_slugs), org_id=device.org_id
    )
    page = paginate(request, notes.order_by("-timestamp", "-id"), param="notes", per_page=NOTES_PER_PAGE)
    for note in page:
        note.on_stream = note.target_kind == targets.STREAM
        note.attachment_url = api_url("note-attachment", id=note.pk) if note.attachment else ""
        note.attachment_name = note.attachment.rsplit("/", 1)[-1] if note.attachment else ""
    context: dict[str, Any] = {"notes": page}
    if can(StreamNote, "add"):
        context["note_form"] = StreamNoteForm()
    return context


NOTES_TAB = register_device_tab(
    DeviceTab(
        name="notes",
        label="Notes",
        icon="journal-text",
        order=30,
        template_name="streamnote/device.html",
        permission=(StreamNote, "view"),
        context=notes_tab_context,
        # session, user, device, the user's role and permissions, notes (count, page)
        queries=6,
    )
)
