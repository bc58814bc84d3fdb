"""Fleets (``fleet/``), their members (``fleet/<g>/devices/``) and membership changes (``register``,
``deregister``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedModelViewSet
from server.apps.device.selectors import visible_device
from server.apps.fleet import selectors, services
from server.apps.fleet.api import serializers
from server.apps.fleet.filtersets import FleetFilterSet
from server.apps.fleet.models import Fleet


@write_schemas(
    create=serializers.FleetCreateSerializer,
    update=serializers.FleetUpdateSerializer,
    response=serializers.FleetSerializer,
)
class FleetViewSet(ScopedModelViewSet):
    """Fleets of devices. ``?device=<d-->`` lists the fleets a device is in. Writes need ``can_manage_ota``."""

    queryset = Fleet.objects.all()
    serializer_class = serializers.FleetSerializer
    filterset_class = FleetFilterSet

    def get_queryset(self):
        return selectors.fleets_with_member_counts(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return selectors.fleet_lookup(value)

    def create(self, request, *args, **kwargs):
        data = serializers.FleetCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fleet = services.fleet_create(user=request.user, **data.validated_data)
        fleet.member_count = 0
        return Response(serializers.FleetSerializer(fleet).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        fleet = self.get_object()
        data = serializers.FleetUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fleet = services.fleet_update(fleet=fleet, **data.validated_data)
        return Response(serializers.FleetSerializer(fleet).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: Fleet) -> None:
        services.fleet_delete(fleet=instance)

    @extend_schema(responses=serializers.FleetMemberSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="devices", scope_action="view")
    def devices(self, request, slug=None):
        """The fleet's members with their flags, by device id (paginated)."""
        fleet = self.get_object()
        page = self.paginate_queryset(selectors.fleet_members(fleet=fleet))
        return self.get_paginated_response(serializers.FleetMemberSerializer(page, many=True).data)

    @extend_schema(request=serializers.FleetRegisterSerializer, responses=serializers.FleetMemberSerializer)
    @action(detail=True, methods=["post"], scope_action="change")
    def register(self, request, slug=None):
        """Add a device to the fleet, or set the flags of a member."""
        fleet = self.get_object()
        data = serializers.FleetRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = visible_device(user=request.user, value=data.validated_data.pop("device"))
        membership = services.fleet_device_register(
            user=request.user, fleet=fleet, device=device, **data.validated_data
        )
        return Response(serializers.FleetMemberSerializer(membership).data)

    @extend_schema(request=serializers.FleetDeregisterSerializer, responses={204: None})
    @action(detail=True, methods=["post"], scope_action="change")
    def deregister(self, request, slug=None):
        """Take a device out of the fleet (204, also when it was not a member)."""
        fleet = self.get_object()
        data = serializers.FleetDeregisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = visible_device(user=request.user, value=data.validated_data["device"])
        services.fleet_device_deregister(user=request.user, fleet=fleet, device=device)
        return Response(status=status.HTTP_204_NO_CONTENT)
