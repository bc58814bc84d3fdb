"""Writes on notes: people's notes from the API or dashboard (one or many at a time), and the platform's own."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils import timezone

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import user_can_create
from server.apps.core.targets import BLOCK, DEVICE, PROJECT, STREAM, Target, target_for_object, targeted_rows_retarget
from server.apps.stores.services import store_file_delete, store_file_save
from server.apps.streamnote.models import NoteType, StreamNote

NOTE_TARGET_KINDS = (STREAM, DEVICE, PROJECT, BLOCK)
ATTACHMENT_STORE = "contents"
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def _bad(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, {field: [message]})


def _note_row(*, target: Target, note: str, timestamp: datetime | None, type: str, user) -> StreamNote:
    if target.kind not in NOTE_TARGET_KINDS:
        raise _bad("target", "Notes belong to streams, devices, projects and data blocks.")
    if not note or not note.strip():
        raise _bad("note", "A note needs some text.")
    return StreamNote(
        target=target.slug,
        target_kind=target.kind,
        org=target.org,
        type=type,
        timestamp=timestamp or timezone.now(),
        note=note,
        created_by=user,
    )


def _save_attachment(upload: UploadedFile) -> str:
    if (upload.size or 0) > MAX_ATTACHMENT_BYTES:
        raise _bad("attachment", f"An attachment may hold at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.")
    filename = _UNSAFE_FILENAME.sub("_", (upload.name or "attachment").rsplit("/", 1)[-1]).strip("._") or "attachment"
    key = f"notes/{uuid.uuid4().hex}/{filename}"
    return store_file_save(
        store=ATTACHMENT_STORE, key=key, content=upload.read(), content_type=getattr(upload, "content_type", None)
    )


@transaction.atomic
def stream_notes_create(*, user, entries: Iterable[tuple[Target, dict[str, Any]]]) -> list[StreamNote]:
    """User notes from ``(target, fields)`` pairs (``note``, optional ``timestamp`` and ``attachment``), all or
    none. Adding a note needs ``can_read_notes`` in the target's organisation."""
    entries = list(entries)
    rows: list[StreamNote] = []
    allowed: dict[str, bool] = {}
    for target, fields in entries:
        row = _note_row(
            target=target, note=fields.get("note", ""), timestamp=fields.get("timestamp"), type=NoteType.USER, user=user
        )
        if target.slug not in allowed:
            allowed[target.slug] = user_can_create(user, row)
        if not allowed[target.slug]:
            raise PermissionDeniedError("You may not add notes to this target.")
        rows.append(row)
    attachments = [fields.get("attachment") for _, fields in entries]
    if any(attachments):
        if len(rows) > 1:
            raise _bad("attachment", "Attach files to one note at a time.")
        # The file first: an orphan file is harmless, a note pointing at nothing is not.
        attachment = attachments[0]
        assert attachment is not None, "any(attachments) with one row: the row's attachment"
        rows[0].attachment = _save_attachment(attachment)
    return StreamNote.objects.bulk_create(rows)


def stream_note_create(
    *, user, target: Target, note: str, timestamp: datetime | None = None, attachment: UploadedFile | None = None
) -> StreamNote:
    fields = {"note": note, "timestamp": timestamp, "attachment": attachment}
    return stream_notes_create(user=user, entries=[(target, fields)])[0]


def system_note_create(
    *, target: Target | models.Model, note: str, type: str = NoteType.SYSTEM_INFO, timestamp: datetime | None = None
) -> StreamNote:
    """A note the platform writes about something it did (an update applied, a filter firing); no user check."""
    if not isinstance(target, Target):
        target = target_for_object(target)
    row = _note_row(target=target, note=note, timestamp=timestamp, type=type, user=None)
    row.save()
    return row


@transaction.atomic(durable=True)
def stream_note_update(*, note: StreamNote, text: str | None = None, timestamp: datetime | None = None) -> StreamNote:
    """Edit a person's note; the platform's notes are a record and stay as written."""
    if note.type != NoteType.USER:
        raise _bad("type", "Only user notes can be edited.")
    if text is not None:
        if not text.strip():
            raise _bad("note", "A note needs some text.")
        note.note = text
    if timestamp is not None:
        note.timestamp = timestamp
    note.save(update_fields=["note", "timestamp"])
    return note


@transaction.atomic(durable=True)
def stream_note_delete(*, note: StreamNote) -> None:
    key = note.attachment
    note.delete()
    if key:
        transaction.on_commit(lambda: store_file_delete(store=ATTACHMENT_STORE, key=key))


# When the target moves (core/targets.py's metadata registry) ------------------------------------------------------


def stream_notes_retarget(*, org_id, moves: Mapping[str, tuple[str, str]]) -> None:
    """The organisation's notes on the slugs in ``moves`` follow their target (a device into its data block)."""
    targeted_rows_retarget(StreamNote.objects.filter(org_id=org_id), moves=moves)


def stream_notes_delete(*, org_id, target: str) -> None:
    """The organisation's notes on ``target``, deleted with it."""
    StreamNote.objects.filter(org_id=org_id, target=target).delete()
