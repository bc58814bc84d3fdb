"""Query-string filters on devices (API and dashboard)."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import StrictBooleanFilter, project_filter
from server.apps.device.models import Device


class DeviceFilterSet(django_filters.FilterSet):
    project = project_filter()
    org = django_filters.CharFilter(field_name="org__slug")
    org__slug = django_filters.CharFilter(field_name="org__slug")
    external_id = django_filters.CharFilter(field_name="external_id")
    claimed = StrictBooleanFilter(field_name="project", lookup_expr="isnull", exclude=True)
    sg = django_filters.CharFilter(field_name="sg__slug")
    dt = django_filters.CharFilter(field_name="template__slug")
    active = StrictBooleanFilter(field_name="active")

    class Meta:
        model = Device
        fields: list[str] = []
