"""Query-string filters on the audit log, shared by the API and the dashboard page."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from server.apps.audit.models import AuditEntry
from server.apps.core.filtersets import IsoDateTimeFilter
from server.apps.core.lookups import PublicIdFilter, device_id_from

ACTIONS = {str(label): value for value, label in AuditEntry.Action.choices}


class AuditEntryFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug", label="the organisation's slug")
    model = django_filters.CharFilter(method="filter_model", label="the changed row's model: app_label.model")
    object = django_filters.CharFilter(method="filter_object", label="the changed row's primary key or its name")
    action = django_filters.ChoiceFilter(choices=[(name, name) for name in ACTIONS], method="filter_action")
    actor = django_filters.CharFilter(field_name="actor__username", label="the acting user's username")
    device = PublicIdFilter(
        field_name="device",
        lookup=lambda value: {"actor_device_id": device_id_from(value)},
        label="the device (d-- slug) whose token made the change",
    )
    since = IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def filter_model(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        app_label, _, model = value.lower().partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)

    def filter_object(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(object_pk=value) | Q(object_repr=value))

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(action=ACTIONS[value])
