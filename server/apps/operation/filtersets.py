"""Query-string filters on device operations: ``device``, ``project``, ``status``, ``kind``, ``batch``."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import PublicIdFilter, device_id_from, project_lookup
from server.apps.operation.models import DeviceOperation, OperationStatus


class OperationFilterSet(django_filters.FilterSet):
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})
    project = PublicIdFilter(field_name="project", lookup=lambda value: project_lookup(value, "device__project__"))
    status = django_filters.MultipleChoiceFilter(choices=OperationStatus.choices)
    kind = django_filters.CharFilter()
    batch = django_filters.UUIDFilter()

    class Meta:
        model = DeviceOperation
        fields: list[str] = []
