"""Query-string filters on data blocks."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import PublicIdFilter, device_id_from
from server.apps.datablock.models import DataBlock


class DataBlockFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})

    class Meta:
        model = DataBlock
        fields: list[str] = []
