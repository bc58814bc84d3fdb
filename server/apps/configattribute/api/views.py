"""Config endpoints: the shared names at ``config/name/`` and the attributes at ``config/attr/?target=``, with the
priority lookup at ``config/attr/search/?target=&name=``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.configattribute import selectors, services
from server.apps.configattribute.api import serializers
from server.apps.configattribute.models import CONFIG_TARGET_KINDS, ConfigAttribute
from server.apps.core.api.catalog import CatalogViewSet
from server.apps.core.api.targets import TARGET_PARAMETER, TargetedViewSet
from server.apps.core.errors import ApplicationError, NotFoundError


class ConfigAttributeNameViewSet(CatalogViewSet):
    """The names config attributes may use, shared by every organisation: anyone signed in reads them, staff add
    them. A name never changes; its description and tags do."""

    queryset = selectors.config_name_list()
    serializer_class = serializers.ConfigAttributeNameSerializer
    lookup_field = "name"
    http_method_names = ["get", "post", "patch", "head", "options"]
    create_service = services.config_name_create
    update_service = services.config_name_update
    update_instance = "config_name"


@extend_schema_view(
    update=extend_schema(request=serializers.ConfigAttributeUpdateSerializer),
    partial_update=extend_schema(request=serializers.ConfigAttributeUpdateSerializer),
)
class ConfigAttributeViewSet(TargetedViewSet):
    """JSON configuration of an organisation (``^org``), project, device, data block or user (``@user``).

    Members read their organisations' attributes; writing needs ``can_manage_org_and_projects`` for organisations
    and projects, ``can_modify_device`` for devices and data blocks; a user's attributes are theirs alone.
    """

    queryset = ConfigAttribute.objects.all()
    serializer_class = serializers.ConfigAttributeSerializer
    target_kinds = CONFIG_TARGET_KINDS
    rows_for_target = selectors.config_attributes_for
    rows_visible = selectors.config_attribute_list
    create_service = services.config_attributes_create

    def update(self, request, *args, **kwargs):
        attribute = self.get_object()
        data = serializers.ConfigAttributeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attribute = services.config_attribute_update(attribute=attribute, user=request.user, **data.validated_data)
        return Response(self.get_serializer(attribute).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: ConfigAttribute) -> None:
        services.config_attribute_delete(attribute=instance)

    @extend_schema(
        parameters=[
            TARGET_PARAMETER,
            OpenApiParameter("name", OpenApiTypes.STR, required=True, description="The config name (':a:b')."),
        ],
        responses=serializers.ConfigAttributeSerializer,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def search(self, request):
        """The attribute that applies to the target: its own, else its project's, its organisation's, and last the
        requesting user's. ``target`` in the answer says which one it was; a 404 when none has it."""
        name = request.query_params.get("name")
        if not name:
            raise ApplicationError("A ?name= is required.", {"name": ["This parameter is required."]})
        found = selectors.config_attribute_search(user=request.user, target=self.request_target(), name=name)
        if found is None:
            raise NotFoundError(f"No '{name}' applies to this target.")
        return Response(self.get_serializer(found).data)
