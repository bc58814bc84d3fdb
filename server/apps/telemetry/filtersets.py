"""Query-string filters: raw messages by ``device``, time, ``status``, ``source``, ``correlation_id``; physical
devices by ``source``, ``unmapped``, ``project``, ``org``; logical devices by ``project``, ``org``; mappings by
``pd``, ``ld``, ``current``."""

from __future__ import annotations

import django_filters

from server.apps.core.filtersets import IsoDateTimeFilter
from server.apps.core.inputs import parse_id
from server.apps.core.lookups import PublicIdFilter, StrictBooleanFilter, device_id_from, project_filter
from server.apps.telemetry.models import (
    DeviceMapping,
    LogicalDevice,
    PhysicalDevice,
    RawMessage,
    RawMessageSource,
    RawMessageStatus,
)


class RawMessageFilterSet(django_filters.FilterSet):
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})
    org = django_filters.CharFilter(field_name="org__slug")
    start = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    end = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")
    status = django_filters.MultipleChoiceFilter(choices=RawMessageStatus.choices)
    source = django_filters.ChoiceFilter(choices=RawMessageSource.choices)
    correlation_id = django_filters.UUIDFilter()

    class Meta:
        model = RawMessage
        fields: list[str] = []


class PhysicalDeviceFilterSet(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source_name")
    unmapped = StrictBooleanFilter(method="filter_unmapped")
    project = project_filter("device__project")
    org = django_filters.CharFilter(field_name="org__slug")

    class Meta:
        model = PhysicalDevice
        fields: list[str] = []

    def filter_unmapped(self, queryset, name, value):
        current = DeviceMapping.objects.filter(end__isnull=True).values("physical_device_id")
        return queryset.exclude(pk__in=current) if value else queryset.filter(pk__in=current)


class LogicalDeviceFilterSet(django_filters.FilterSet):
    project = project_filter()
    org = django_filters.CharFilter(field_name="org__slug")

    class Meta:
        model = LogicalDevice
        fields: list[str] = []


class DeviceMappingFilterSet(django_filters.FilterSet):
    pd = PublicIdFilter(field_name="pd", lookup=lambda value: {"physical_device_id": parse_id(value, "pd")})
    ld = PublicIdFilter(field_name="ld", lookup=lambda value: {"logical_device_id": parse_id(value, "ld")})
    current = StrictBooleanFilter(field_name="end", lookup_expr="isnull")

    class Meta:
        model = DeviceMapping
        fields: list[str] = []
