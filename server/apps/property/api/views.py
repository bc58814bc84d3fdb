"""Property endpoints: ``property/?target=`` and the organisation templates at ``propertytemplate/``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.core.api.targets import TargetedViewSet
from server.apps.core.api.viewsets import ScopedModelViewSet
from server.apps.property import selectors, services
from server.apps.property.api import serializers
from server.apps.property.filtersets import GenericPropertyFilterSet, PropertyTemplateFilterSet
from server.apps.property.models import GenericProperty, GenericPropertyOrgTemplate


@extend_schema_view(
    update=extend_schema(request=serializers.GenericPropertyUpdateSerializer),
    partial_update=extend_schema(request=serializers.GenericPropertyUpdateSerializer),
)
class GenericPropertyViewSet(TargetedViewSet):
    """Name/value properties of a device, project or data block: read with ``can_read_device_properties``,
    written with ``can_modify_device_properties``. A name is unique per target."""

    queryset = GenericProperty.objects.all()
    serializer_class = serializers.GenericPropertySerializer
    filterset_class = GenericPropertyFilterSet
    target_kinds = services.PROPERTY_TARGET_KINDS
    rows_for_target = selectors.properties_for
    rows_visible = selectors.property_list
    create_service = services.properties_create

    def update(self, request, *args, **kwargs):
        prop = self.get_object()
        data = serializers.GenericPropertyUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        prop = services.property_update(prop=prop, **data.validated_data)
        return Response(self.get_serializer(prop).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: GenericProperty) -> None:
        services.property_delete(prop=instance)


@extend_schema_view(
    create=extend_schema(request=serializers.PropertyTemplateCreateSerializer),
    update=extend_schema(request=serializers.PropertyTemplateUpdateSerializer),
    partial_update=extend_schema(request=serializers.PropertyTemplateUpdateSerializer),
)
class PropertyTemplateViewSet(ScopedModelViewSet):
    """An organisation's property templates (``?org=<slug>``): members read them, ``can_manage_org_and_projects``
    writes them. With enums, properties of that name only take those values."""

    queryset = GenericPropertyOrgTemplate.objects.all()
    serializer_class = serializers.PropertyTemplateSerializer
    filterset_class = PropertyTemplateFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.property_template_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        data = serializers.PropertyTemplateCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        org = selectors.visible_org(user=request.user, slug=fields.pop("org", None) or request.query_params.get("org"))
        template = services.property_template_create(user=request.user, org=org, **fields)
        return Response(self.get_serializer(template).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        template = self.get_object()
        data = serializers.PropertyTemplateUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        template = services.property_template_update(template=template, **data.validated_data)
        return Response(self.get_serializer(template).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: GenericPropertyOrgTemplate) -> None:
        services.property_template_delete(template=instance)

    @extend_schema(methods=["POST", "DELETE"], request=serializers.PropertyEnumSerializer)
    @action(detail=True, methods=["post", "delete"], scope_action="change", pagination_class=None, filterset_class=None)
    def enum(self, request, id=None):
        """Add (POST) or remove (DELETE) one allowed value: ``{"value": …}``."""
        template = self.get_object()
        data = serializers.PropertyEnumSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if request.method == "POST":
            services.property_template_enum_add(template=template, value=data.validated_data["value"])
        else:
            services.property_template_enum_remove(template=template, value=data.validated_data["value"])
        template = selectors.property_template_list(user=request.user).get(pk=template.pk)
        return Response(self.get_serializer(template).data)
