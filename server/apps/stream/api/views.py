"""Variable and stream endpoints: thin viewsets over the stream selectors and services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.core.api.pagination import ExtraLargePagination, LargePagination, ShortFirstPagePagination
from server.apps.core.api.renderers import FAST_RENDERERS
from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedModelViewSet
from server.apps.core.errors import ApplicationError
from server.apps.device.selectors import device_get, visible_project
from server.apps.stream import selectors, services
from server.apps.stream.api import serializers
from server.apps.stream.filtersets import StreamFilterSet, VariableFilterSet
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.streamdata.api.serializers import StreamDataSerializer
from server.apps.streamdata.api.views import DATA_PARAMETERS, MASK_PARAMETER, stream_data_page


@write_schemas(
    create=serializers.VariableCreateSerializer,
    update=serializers.VariableWriteSerializer,
    response=serializers.VariableSerializer,
)
class VariableViewSet(ScopedModelViewSet):
    """A project's stream variables (``v--`` slugs); writes need ``can_modify_stream_ids``."""

    queryset = StreamVariable.objects.all()
    serializer_class = serializers.VariableSerializer
    filterset_class = VariableFilterSet
    pagination_class = LargePagination

    def get_queryset(self):
        return selectors.variable_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return selectors.variable_lookup(value)

    def create(self, request, *args, **kwargs):
        data = serializers.VariableCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        project = visible_project(user=request.user, value=fields.pop("project"))
        variable = services.variable_create(user=request.user, project=project, **fields)
        return Response(serializers.VariableSerializer(variable).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        variable = self.get_object()
        data = serializers.VariableWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        variable = services.variable_update(variable=variable, **data.validated_data)
        return Response(serializers.VariableSerializer(variable).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: StreamVariable) -> None:
        services.variable_delete(variable=instance)


@write_schemas(
    create=serializers.StreamCreateSerializer,
    update=serializers.StreamWriteSerializer,
    response=serializers.StreamSerializer,
)
class StreamViewSet(ScopedModelViewSet):
    """Streams (``s--`` slugs): a variable of a device (or of a data block, or of the project itself).

    Reading needs ``can_read_stream_ids``; creating ``can_create_stream_ids``; changing ``can_modify_stream_ids``;
    ``data/`` needs ``can_read_stream_data``.
    """

    queryset = StreamId.objects.all()
    serializer_class = serializers.StreamSerializer
    filterset_class = StreamFilterSet
    pagination_class = ExtraLargePagination

    def get_queryset(self):
        if self.action == "data":
            return selectors.stream_list_for_data(user=self.request.user)
        return selectors.stream_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return selectors.stream_lookup(value)

    def find_object(self, lookup: dict) -> StreamId | None:
        if self.action == "data":
            return selectors.stream_for_data(user=self.request.user, **lookup)
        return super().find_object(lookup)

    def create(self, request, *args, **kwargs):
        data = serializers.StreamCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        variable = selectors.visible_variable(user=request.user, value=fields.pop("variable"))
        device = None
        if device_value := fields.pop("device", None):
            device = device_get(user=request.user, value=device_value)
            if device is None:
                raise ApplicationError(f"Unknown device '{device_value}'.", {"device": ["Unknown device."]})
        stream = services.stream_create(user=request.user, variable=variable, device=device, **fields)
        stream = selectors.stream_list(user=request.user).get(pk=stream.pk)
        return Response(serializers.StreamSerializer(stream).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        stream = self.get_object()
        data = serializers.StreamWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        stream = services.stream_update(stream=stream, **data.validated_data)
        return Response(serializers.StreamSerializer(stream).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: StreamId) -> None:
        services.stream_delete(stream=instance)

    @extend_schema(responses=StreamDataSerializer(many=True), parameters=[*DATA_PARAMETERS, MASK_PARAMETER])
    @action(
        detail=True,
        methods=["get"],
        scope_action="read_data",
        pagination_class=ShortFirstPagePagination,
        renderer_classes=FAST_RENDERERS,
        filterset_class=None,
        serializer_class=StreamDataSerializer,
    )
    def data(self, request, slug=None):
        """The stream's data, oldest first: ``start``/``end`` (ISO; start inclusive, end exclusive), ``lastn``."""
        stream = self.get_object()
        return stream_data_page(self, request, {stream.series: stream})
