"""Query-string filters on streamers and streamer reports."""

from __future__ import annotations

import django_filters

from server.apps.core.filtersets import IsoDateTimeFilter
from server.apps.core.lookups import PublicIdFilter, StrictBooleanFilter, device_id_from
from server.apps.streamer.models import ReportStatus, Streamer, StreamerReport
from server.apps.streamer.selectors import streamer_lookup


def _number(value: str) -> int:
    """Decimal, or hex with ``0x`` (selectors are usually written in hex)."""
    return int(str(value).strip(), 0)


class StreamerFilterSet(django_filters.FilterSet):
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})
    selector = PublicIdFilter(field_name="selector", lookup=lambda value: {"selector": _number(value)})
    is_system = StrictBooleanFilter(field_name="is_system")

    class Meta:
        model = Streamer
        fields: list[str] = []


class StreamerReportFilterSet(django_filters.FilterSet):
    streamer = PublicIdFilter(
        field_name="streamer", lookup=lambda value: {f"streamer__{k}": v for k, v in streamer_lookup(value).items()}
    )
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"streamer__device_id": device_id_from(value)})
    status = django_filters.ChoiceFilter(field_name="status", choices=ReportStatus.choices)
    start = IsoDateTimeFilter(field_name="sent_timestamp", lookup_expr="gte", label="received at or after (ISO)")
    end = IsoDateTimeFilter(field_name="sent_timestamp", lookup_expr="lt", label="received before (ISO)")

    class Meta:
        model = StreamerReport
        fields: list[str] = []
