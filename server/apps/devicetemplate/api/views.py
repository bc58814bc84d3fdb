from __future__ import annotations

import django_filters

from server.apps.core.api.catalog import CatalogViewSet
from server.apps.devicetemplate import services
from server.apps.devicetemplate.api.serializers import DeviceTemplateSerializer
from server.apps.devicetemplate.models import DeviceTemplate


class DeviceTemplateFilterSet(django_filters.FilterSet):
    class Meta:
        model = DeviceTemplate
        fields = ["active", "os_tag", "family"]


class DeviceTemplateViewSet(CatalogViewSet):
    """Device templates (the hardware a device is built from): any authenticated user reads them, staff write them."""

    queryset = DeviceTemplate.objects.select_related("org")
    serializer_class = DeviceTemplateSerializer
    filterset_class = DeviceTemplateFilterSet
    create_service = services.device_template_create
    update_service = services.device_template_update
