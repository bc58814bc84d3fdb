from __future__ import annotations

import django_filters

from server.apps.core.api.catalog import CatalogViewSet
from server.apps.sensorgraph import services
from server.apps.sensorgraph.api.serializers import SensorGraphSerializer
from server.apps.sensorgraph.models import SensorGraph


class SensorGraphFilterSet(django_filters.FilterSet):
    class Meta:
        model = SensorGraph
        fields = ["active", "app_tag"]


class SensorGraphViewSet(CatalogViewSet):
    """Sensor graphs (the application a device runs): any authenticated user reads them, staff write them."""

    queryset = SensorGraph.objects.select_related("org")
    serializer_class = SensorGraphSerializer
    filterset_class = SensorGraphFilterSet
    create_service = services.sensorgraph_create
    update_service = services.sensorgraph_update
