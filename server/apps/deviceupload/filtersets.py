"""Query-string filters on device uploads."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import PublicIdFilter, device_id_from
from server.apps.deviceupload.models import DeviceUpload, UploadSchedule
from server.apps.fleet.selectors import fleet_lookup


class DeviceUploadFilterSet(django_filters.FilterSet):
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})
    state = django_filters.CharFilter(field_name="state")

    class Meta:
        model = DeviceUpload
        fields: list[str] = []


class UploadScheduleFilterSet(django_filters.FilterSet):
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})
    fleet = PublicIdFilter(
        field_name="fleet", lookup=lambda value: {f"fleet__{k}": v for k, v in fleet_lookup(value).items()}
    )

    class Meta:
        model = UploadSchedule
        fields: list[str] = []
