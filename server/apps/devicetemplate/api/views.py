from __future__ import annotations

import django_filters
from django.db.models import Prefetch

from server.apps.core.api.catalog import CatalogViewSet
from server.apps.core.lookups import StrictBooleanFilter
from server.apps.devicetemplate import services
from server.apps.devicetemplate.api.serializers import ComponentSerializer, DeviceTemplateSerializer
from server.apps.devicetemplate.models import Component, DeviceSlot, DeviceTemplate


class DeviceTemplateFilterSet(django_filters.FilterSet):
    active = StrictBooleanFilter()

    class Meta:
        model = DeviceTemplate
        fields = ["active", "os_tag", "family", "hw_tag"]


class DeviceTemplateViewSet(CatalogViewSet):
    """Device templates (the hardware a device is built from, with its components by slot): any authenticated user
    reads them, staff write them."""

    queryset = DeviceTemplate.objects.select_related("org").prefetch_related(
        Prefetch("slots", queryset=DeviceSlot.objects.select_related("component"))
    )
    serializer_class = DeviceTemplateSerializer
    filterset_class = DeviceTemplateFilterSet
    create_service = services.device_template_create
    update_service = services.device_template_update
    update_instance = "template"


class ComponentFilterSet(django_filters.FilterSet):
    class Meta:
        model = Component
        fields = ["type", "hw_tag", "external_sku"]


class ComponentViewSet(CatalogViewSet):
    """Hardware components (tiles): any authenticated user reads them, staff write them; one in use is a 409."""

    queryset = Component.objects.all()
    serializer_class = ComponentSerializer
    filterset_class = ComponentFilterSet
    create_service = services.component_create
    update_service = services.component_update
    update_instance = "component"

    def perform_destroy(self, instance: Component) -> None:
        services.component_delete(component=instance)
