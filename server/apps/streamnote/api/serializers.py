"""Notes on the wire. ``attachment`` is a file on the way in (multipart, one note) and its file name on the way
out; the file itself is at ``note/<id>/attachment/``."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.streamnote.models import NoteType


class StreamNoteSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    target = serializers.CharField(
        required=False, max_length=200, help_text="An s--, d--, p-- or b-- slug; ?target= when left out."
    )
    type = serializers.ChoiceField(choices=NoteType.choices, read_only=True)
    timestamp = serializers.DateTimeField(required=False, help_text="ISO 8601; now when left out.")
    note = serializers.CharField()
    attachment = serializers.FileField(required=False, write_only=True)
    created_on = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    def to_representation(self, note) -> dict:
        data = super().to_representation(note)
        data["attachment"] = note.attachment.rsplit("/", 1)[-1] if note.attachment else None
        return data


class StreamNoteUpdateSerializer(serializers.Serializer):
    note = serializers.CharField(required=False)
    timestamp = serializers.DateTimeField(required=False)
