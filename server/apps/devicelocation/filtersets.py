"""Query-string filters on device locations."""

from __future__ import annotations

from server.apps.core.filtersets import TimeWindowFilterSet
from server.apps.devicelocation.models import DeviceLocation


class DeviceLocationFilterSet(TimeWindowFilterSet):
    class Meta:
        model = DeviceLocation
        fields: list[str] = []
