"""Query-string filters on events: a time window, a streamer-id range, and ``mask`` (read, not acted on)."""

from __future__ import annotations

import django_filters

from server.apps.core.filtersets import IsoDateTimeFilter
from server.apps.core.lookups import IgnoredBooleanFilter
from server.apps.streamevent.models import StreamEventData


class EventFilterSet(django_filters.FilterSet):
    start = IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="start (ISO, inclusive)")
    end = IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt", label="end (ISO, exclusive)")
    streamer_id_0 = django_filters.NumberFilter(field_name="streamer_local_id", lookup_expr="gte")
    streamer_id_1 = django_filters.NumberFilter(field_name="streamer_local_id", lookup_expr="lte")
    mask = IgnoredBooleanFilter(label="true or false; accepted, no masks yet")

    class Meta:
        model = StreamEventData
        fields: list[str] = []
