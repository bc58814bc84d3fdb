"""Query-string filters on fleets."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import PublicIdFilter, StrictBooleanFilter, device_id_from
from server.apps.fleet.models import Fleet
from server.apps.fleet.selectors import device_fleet_ids


class FleetFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    is_network = StrictBooleanFilter(field_name="is_network")
    device = PublicIdFilter(
        field_name="device",
        lookup=lambda value: {"id__in": device_fleet_ids(device_id=device_id_from(value))},
        label="the fleets a device (d-- slug) is a member of",
    )

    class Meta:
        model = Fleet
        fields: list[str] = []
