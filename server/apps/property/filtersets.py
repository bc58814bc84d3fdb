"""Query-string filters on properties and property templates."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import StrictBooleanFilter
from server.apps.property.models import GenericProperty, GenericPropertyOrgTemplate


class GenericPropertyFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(field_name="name")
    is_system = StrictBooleanFilter(field_name="is_system")

    class Meta:
        model = GenericProperty
        fields: list[str] = []


class PropertyTemplateFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug", label="organisation slug")
    name = django_filters.CharFilter(field_name="name")

    class Meta:
        model = GenericPropertyOrgTemplate
        fields: list[str] = []
