from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedModelViewSet
from server.apps.core.errors import ApplicationError
from server.apps.datablock import selectors, services
from server.apps.datablock.api import serializers
from server.apps.datablock.filtersets import DataBlockFilterSet
from server.apps.datablock.models import DataBlock
from server.apps.device.selectors import device_get


@write_schemas(
    create=serializers.DataBlockCreateSerializer,
    created=serializers.DataBlockCreatedSerializer,
    update=serializers.DataBlockUpdateSerializer,
    response=serializers.DataBlockSerializer,
)
class DataBlockViewSet(ScopedModelViewSet):
    """Data blocks: a device's data archived under a ``b--`` slug. Reading needs ``can_access_datablock``;
    ``POST {device, title, description, on_complete}`` archives a device (``can_create_datablock``), with progress
    in the block's ``status`` and ``progress``; deleting a block and its data needs ``can_delete_datablock``."""

    queryset = DataBlock.objects.all()
    serializer_class = serializers.DataBlockSerializer
    filterset_class = DataBlockFilterSet

    def get_queryset(self):
        return selectors.datablock_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return selectors.datablock_lookup(value)

    def create(self, request, *args, **kwargs):
        data = serializers.DataBlockCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        device = device_get(user=request.user, value=fields.pop("device"))
        if device is None:
            raise ApplicationError("Unknown device.", {"device": ["Unknown device."]})
        block = services.datablock_create(user=request.user, device=device, **fields)
        body = serializers.DataBlockCreatedSerializer(block, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        block = self.get_object()
        data = serializers.DataBlockUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        block = services.datablock_update(block=block, **data.validated_data)
        return Response(serializers.DataBlockSerializer(block).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: DataBlock) -> None:
        services.datablock_delete(block=instance)
