"""Query-string filters on device uploads."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import PublicIdFilter, device_id_from
from server.apps.deviceupload.models import DeviceUpload


class DeviceUploadFilterSet(django_filters.FilterSet):
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})
    state = django_filters.CharFilter(field_name="state")

    class Meta:
        model = DeviceUpload
        fields: list[str] = []
