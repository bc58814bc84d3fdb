from __future__ import annotations

import django_filters
from django.db.models import Prefetch

from server.apps.core.api.catalog import CatalogViewSet
from server.apps.core.lookups import StrictBooleanFilter
from server.apps.sensorgraph import services
from server.apps.sensorgraph.api.serializers import SensorGraphSerializer, VariableTemplateSerializer
from server.apps.sensorgraph.models import SensorGraph, VariableTemplate

TEMPLATE_RELATIONS = ("sg", "var_type", "default_input_unit", "default_output_unit")


class SensorGraphFilterSet(django_filters.FilterSet):
    active = StrictBooleanFilter()

    class Meta:
        model = SensorGraph
        fields = ["active", "app_tag"]


class SensorGraphViewSet(CatalogViewSet):
    """Sensor graphs (the application a device runs) with their variable templates: any authenticated user reads
    them, staff write them."""

    # The prefetch fills each template's ``sg`` with its graph, so it needs no join for it.
    queryset = SensorGraph.objects.select_related("org").prefetch_related(
        Prefetch(
            "variable_templates",
            queryset=VariableTemplate.objects.select_related(*TEMPLATE_RELATIONS[1:]).order_by("lid"),
        )
    )
    serializer_class = SensorGraphSerializer
    filterset_class = SensorGraphFilterSet
    create_service = services.sensorgraph_create
    update_service = services.sensorgraph_update
    update_instance = "sg"


class VariableTemplateFilterSet(django_filters.FilterSet):
    sg = django_filters.CharFilter(field_name="sg__slug")
    var_type = django_filters.CharFilter(field_name="var_type__slug")

    class Meta:
        model = VariableTemplate
        fields: list[str] = []


class VariableTemplateViewSet(CatalogViewSet):
    """The variables sensor graphs produce, by id (``?sg=<slug>`` lists one graph's): any authenticated user reads
    them, staff write them."""

    queryset = VariableTemplate.objects.select_related(*TEMPLATE_RELATIONS)
    serializer_class = VariableTemplateSerializer
    filterset_class = VariableTemplateFilterSet
    lookup_field = "pk"
    lookup_value_regex = r"[0-9]+"
    create_service = services.variable_template_create
    update_service = services.variable_template_update
    update_instance = "template"
