"""Query-string filters on stream aliases and taps."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import PublicIdFilter
from server.apps.streamalias.models import StreamAlias, StreamAliasTap
from server.apps.streamalias.selectors import alias_lookup


class StreamAliasFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = StreamAlias
        fields: list[str] = []


class StreamAliasTapFilterSet(django_filters.FilterSet):
    target = PublicIdFilter(
        field_name="target",
        lookup=lambda value: {f"alias__{key}": found for key, found in alias_lookup(value).items()},
        label="the alias (a-- slug) whose taps to list",
    )

    class Meta:
        model = StreamAliasTap
        fields: list[str] = []
