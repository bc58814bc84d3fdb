"""Query-string filters on desired states and current states."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import PublicIdFilter, device_id_from
from server.apps.desiredstate.models import DesiredState, DeviceCurrentState
from server.apps.fleet.selectors import fleet_lookup


class DesiredStateFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})
    fleet = PublicIdFilter(
        field_name="fleet", lookup=lambda value: {f"fleet__{k}": v for k, v in fleet_lookup(value).items()}
    )

    class Meta:
        model = DesiredState
        fields: list[str] = []


class CurrentStateFilterSet(django_filters.FilterSet):
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})

    class Meta:
        model = DeviceCurrentState
        fields: list[str] = []
