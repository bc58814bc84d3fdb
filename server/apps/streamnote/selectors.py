"""Reads on notes, already scoped to a user."""

from __future__ import annotations

from typing import IO

from django.db import models
from django.db.models import QuerySet

from server.apps.core.errors import NotFoundError
from server.apps.core.targets import Target, target_of
from server.apps.stores.selectors import store_file_open
from server.apps.streamnote.models import StreamNote
from server.apps.streamnote.services import ATTACHMENT_STORE, NOTE_TARGET_KINDS


def stream_note_list(*, user) -> QuerySet[StreamNote]:
    return StreamNote.objects.restrict(user, "view").select_related("created_by")


def notes_for(*, user, target: Target | models.Model | str) -> QuerySet[StreamNote]:
    """The notes on a stream, device, project or data block (an object, a :class:`Target` or a slug) that ``user``
    may read, oldest first: none without ``can_read_notes``."""
    target = target_of(user=user, target=target, kinds=NOTE_TARGET_KINDS)
    return stream_note_list(user=user).filter(target=target.slug, org_id=target.org_id)


def note_attachment_open(*, note: StreamNote) -> IO[bytes]:
    if not note.attachment:
        raise NotFoundError("This note has no attachment.")
    return store_file_open(store=ATTACHMENT_STORE, key=note.attachment)
