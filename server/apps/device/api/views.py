"""Device endpoints: thin viewsets over the device selectors and services."""

from __future__ import annotations

from django.core.exceptions import ValidationError as FormValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from server.apps.core.api.pagination import LargePagination
from server.apps.core.api.viewsets import ScopedModelViewSet
from server.apps.core.lookups import StrictBooleanField
from server.apps.device import selectors, services
from server.apps.device.api import serializers
from server.apps.device.filtersets import DeviceFilterSet
from server.apps.device.models import Device

STAFF_PARAMETER = OpenApiParameter(
    "staff", bool, description="Staff operations (changing the template) need ?staff=1.", required=False
)


def _staff_mode(value: str | None) -> bool:
    """``?staff=``, read as every boolean in a query string is (true/false/1/0, none: false); anything else a 400."""
    try:
        return bool(StrictBooleanField(required=False).clean(value))
    except FormValidationError as exc:
        raise ValidationError({"staff": exc.messages}) from exc


@extend_schema_view(
    create=extend_schema(request=serializers.DeviceCreateSerializer, responses={201: serializers.DeviceSerializer}),
    update=extend_schema(
        request=serializers.DeviceUpdateSerializer,
        responses=serializers.DeviceSerializer,
        parameters=[STAFF_PARAMETER],
    ),
    partial_update=extend_schema(
        request=serializers.DeviceUpdateSerializer,
        responses=serializers.DeviceSerializer,
        parameters=[STAFF_PARAMETER],
    ),
)
class DeviceViewSet(ScopedModelViewSet):
    """Devices, named by their ``d--`` slug in any form (``d--1``, ``0x12ab``) or their integer id.

    Creating and deleting devices is for staff; members with ``can_modify_device`` edit them; claiming needs
    ``can_claim_devices``.
    """

    queryset = Device.objects.all()
    serializer_class = serializers.DeviceSerializer
    filterset_class = DeviceFilterSet
    pagination_class = LargePagination

    def get_queryset(self):
        return selectors.device_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return selectors.device_lookup(value)

    def create(self, request, *args, **kwargs):
        data = serializers.DeviceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = services.device_create(created_by=request.user, **data.validated_data)
        return Response(serializers.DeviceSerializer(device).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        # PUT and PATCH both change only the fields they name.
        device = self.get_object()
        data = serializers.DeviceUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        device = services.device_update(
            device=device,
            user=request.user,
            staff_mode=_staff_mode(request.query_params.get("staff")),
            **data.validated_data,
        )
        return Response(serializers.DeviceSerializer(device).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: Device) -> None:
        services.device_delete(device=instance)

    @extend_schema(request=serializers.DeviceClaimSerializer, responses={202: serializers.DeviceClaimResultSerializer})
    @action(detail=False, methods=["post"], pagination_class=None, filterset_class=None)
    def claim(self, request):
        """Claim an unclaimed device into a project (``can_claim_devices`` in the project's organisation)."""
        data = serializers.DeviceClaimSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = selectors.visible_project(user=request.user, value=data.validated_data["project"])
        device = services.device_claim(
            user=request.user,
            device=data.validated_data["device"],
            project=project,
            claim_key=data.validated_data.get("claim_key"),
        )
        body = {"claimed": True, "device": device.slug, "project": project.slug, "project_id": project.pk}
        return Response(serializers.DeviceClaimResultSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=serializers.DeviceClaimableSerializer, responses=serializers.DeviceClaimableResultSerializer)
    @action(detail=False, methods=["post"], pagination_class=None, filterset_class=None)
    def claimable(self, request):
        """Which of these devices could be claimed (they exist and belong to no project)."""
        data = serializers.DeviceClaimableSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = services.device_claimable(slugs=data.validated_data["slugs"])
        return Response({"count": len(results), "results": results})

    @extend_schema(
        request=serializers.DeviceUnclaimSerializer, responses={202: serializers.DeviceUnclaimResultSerializer}
    )
    @action(detail=True, methods=["post"], scope_action="claim", pagination_class=None, filterset_class=None)
    def unclaim(self, request, slug=None):
        """Release the device from its project; ``clean_streams`` also deletes its streams and their data."""
        device = self.get_object()
        data = serializers.DeviceUnclaimSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deleted = services.device_unclaim(device=device, **data.validated_data)
        body = {"unclaimed": True, "device": device.slug, "deleted_data": deleted}
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=serializers.DeviceReplaceSerializer, responses=serializers.DeviceReplaceResultSerializer)
    @action(detail=True, methods=["post"], scope_action="change", pagination_class=None, filterset_class=None)
    def replace(self, request, slug=None):
        """Replace this device in the field by ``new_device`` from ``timestamp`` on: each of its streams goes on
        through an alias (``data/?filter=a--…``) that reads this device before the time and the new one after it."""
        device = self.get_object()
        data = serializers.DeviceReplaceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        replacement = services.device_replace(
            old_device=device,
            new_device=data.validated_data["new_device"],
            at=data.validated_data["timestamp"],
            user=request.user,
            claim_key=data.validated_data.get("claim_key"),
        )
        return Response(serializers.DeviceReplaceResultSerializer(replacement).data)

    @extend_schema(responses=serializers.DeviceExtraSerializer)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def extra(self, request, slug=None):
        """Per stream of the device: data rows, events, and whether the stream exists."""
        device = self.get_object()
        return Response({"stream_counts": selectors.device_stream_counts(device=device)})
