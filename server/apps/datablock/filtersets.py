"""Query-string filters on data blocks."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from server.apps.core.lookups import PublicIdFilter, device_id_from
from server.apps.datablock.models import DataBlock


class DataBlockFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})
    q = django_filters.CharFilter(method="search", label="text in the title or description")

    class Meta:
        model = DataBlock
        fields: list[str] = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))
