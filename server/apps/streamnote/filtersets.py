"""Query-string filters on notes."""

from __future__ import annotations

import django_filters

from server.apps.core.filtersets import TimeWindowFilterSet
from server.apps.streamnote.models import NoteType, StreamNote


class StreamNoteFilterSet(TimeWindowFilterSet):
    type = django_filters.ChoiceFilter(field_name="type", choices=NoteType.choices)

    class Meta:
        model = StreamNote
        fields: list[str] = []
