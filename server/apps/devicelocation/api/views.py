"""Location endpoints: ``location/?target=`` (with start, end, lastn), one location or a list per POST."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.response import Response

from server.apps.core.api.pagination import LargePagination
from server.apps.core.api.targets import TargetedViewSet
from server.apps.devicelocation import selectors, services
from server.apps.devicelocation.api import serializers
from server.apps.devicelocation.filtersets import DeviceLocationFilterSet
from server.apps.devicelocation.models import DeviceLocation


@extend_schema_view(
    create=extend_schema(
        request=serializers.DeviceLocationSerializer,
        responses={201: OpenApiResponse(serializers.DeviceLocationSerializer, description="A list answers {count}.")},
        description="Post one location or a list, all or none; the device moves to its latest location.",
    ),
    update=extend_schema(request=serializers.DeviceLocationUpdateSerializer),
    partial_update=extend_schema(request=serializers.DeviceLocationUpdateSerializer),
)
class DeviceLocationViewSet(TargetedViewSet):
    """Where a device (or data block) was over time: read with ``can_read_device_locations``, written with
    ``can_modify_device``."""

    queryset = DeviceLocation.objects.all()
    serializer_class = serializers.DeviceLocationSerializer
    filterset_class = DeviceLocationFilterSet
    pagination_class = LargePagination
    target_kinds = services.LOCATION_TARGET_KINDS
    bulk_create = True
    rows_for_target = selectors.locations_for
    rows_visible = selectors.device_location_list
    create_service = services.device_locations_create

    def update(self, request, *args, **kwargs):
        location = self.get_object()
        data = serializers.DeviceLocationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        location = services.device_location_update(location=location, **data.validated_data)
        return Response(self.get_serializer(location).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: DeviceLocation) -> None:
        services.device_location_delete(location=instance)
