"""Query-string filters on stream filters and alerts."""

from __future__ import annotations

import django_filters

from server.apps.core.filtersets import IsoDateTimeFilter
from server.apps.core.lookups import PublicIdFilter, StrictBooleanFilter, project_filter
from server.apps.device.selectors import device_lookup
from server.apps.stream.selectors import stream_lookup, variable_lookup
from server.apps.streamfilter.models import AlertStatus, StreamFilter, StreamFilterAlert


class StreamFilterFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    project = project_filter()
    variable = PublicIdFilter(
        field_name="variable",
        lookup=lambda value: {f"variable__{k}": v for k, v in variable_lookup(value).items()},
        label="the variable (v-- slug) the filters watch",
    )
    device = PublicIdFilter(
        field_name="device",
        lookup=lambda value: {f"device__{k}": v for k, v in device_lookup(value).items()},
        label="the device (d-- slug) whose stream the filters watch",
    )
    active = StrictBooleanFilter(label="true or false: the filters that are (or are not) active")

    class Meta:
        model = StreamFilter
        fields: list[str] = []


class StreamFilterAlertFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    project = project_filter()
    stream = PublicIdFilter(
        field_name="stream_slug",
        lookup=lambda value: {"stream_slug": stream_lookup(value)["slug"]},
        label="the stream (s-- slug) whose alerts to list",
    )
    streamfilter = django_filters.NumberFilter(field_name="filter_id", label="the id of the filter that raised them")
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    since = IsoDateTimeFilter(field_name="created_on", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="created_on", lookup_expr="lt")

    class Meta:
        model = StreamFilterAlert
        fields: list[str] = []
