"""Query-string filters on destinations and their outboxes."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import StrictBooleanFilter
from server.apps.forwarding.models import Delivery, DeliveryStatus, Destination, DestinationKind


class DestinationFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    kind = django_filters.ChoiceFilter(choices=DestinationKind.choices)
    is_active = StrictBooleanFilter(field_name="is_active")

    class Meta:
        model = Destination
        fields: list[str] = []


class DeliveryFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    correlation_id = django_filters.UUIDFilter(field_name="correlation_id")

    class Meta:
        model = Delivery
        fields: list[str] = []
