"""Forwarding destinations (``destination/``), their status (``destination/<id>/status/``), their outbox
(``destination/<id>/deliveries/``) and the replay of their dead letters (``destination/<id>/replay/``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedModelViewSet
from server.apps.core.inputs import parse_id
from server.apps.forwarding import selectors, services
from server.apps.forwarding.api import serializers
from server.apps.forwarding.filtersets import DeliveryFilterSet, DestinationFilterSet
from server.apps.forwarding.models import DeliveryStatus, Destination


@write_schemas(
    create=serializers.DestinationCreateSerializer,
    update=serializers.DestinationUpdateSerializer,
    response=serializers.DestinationSerializer,
)
class DestinationViewSet(ScopedModelViewSet):
    """Where an organisation's routed messages are forwarded: a webhook or files in a store. Reads and writes need
    ``can_manage_org_and_projects``."""

    queryset = Destination.objects.all()
    serializer_class = serializers.DestinationSerializer
    filterset_class = DestinationFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.destination_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_id(value)}

    def create(self, request, *args, **kwargs):
        data = serializers.DestinationCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        destination = services.destination_create(user=request.user, **data.validated_data)
        return Response(serializers.DestinationSerializer(destination).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        destination = self.get_object()
        data = serializers.DestinationUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        destination = services.destination_update(user=request.user, destination=destination, **data.validated_data)
        return Response(serializers.DestinationSerializer(destination).data)

    def perform_destroy(self, instance: Destination) -> None:
        services.destination_delete(user=self.request.user, destination=instance)

    @extend_schema(responses=serializers.DestinationStatusSerializer)
    @action(detail=True, methods=["get"], scope_action="view")
    def status(self, request, id=None):
        """Delivery counts by status, lag (age of the oldest undelivered message) and the last error."""
        destination = self.get_object()
        return Response(
            serializers.DestinationStatusSerializer(selectors.destination_status(destination=destination)).data
        )

    @extend_schema(
        responses=serializers.DeliverySerializer(many=True),
        parameters=[
            OpenApiParameter("status", str, enum=DeliveryStatus.values, description="Only rows in this state."),
            OpenApiParameter("correlation_id", OpenApiTypes.UUID, description="Only this message's row."),
        ],
        filters=False,
    )
    @action(detail=True, methods=["get"], scope_action="view", filter_backends=[])
    def deliveries(self, request, id=None):
        """The outbox, newest first (``?status=pending|delivered|dead``, ``?correlation_id=``), paginated."""
        destination = self.get_object()
        rows = DeliveryFilterSet(request.query_params, queryset=selectors.deliveries_of(destination=destination))
        if not rows.is_valid():
            return Response(rows.errors, status=status.HTTP_400_BAD_REQUEST)
        page = self.paginate_queryset(rows.qs)
        return self.get_paginated_response(serializers.DeliverySerializer(page, many=True).data)

    @extend_schema(request=serializers.ReplaySerializer, responses=serializers.ReplayResultSerializer)
    @action(detail=True, methods=["post"], scope_action="change")
    def replay(self, request, id=None):
        """Put dead letters back in the outbox with fresh attempts; the worker sends them in their original order."""
        destination = self.get_object()
        data = serializers.ReplaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        replayed = services.deliveries_replay(
            user=request.user, destination=destination, ids=data.validated_data.get("ids")
        )
        return Response({"replayed": replayed})
