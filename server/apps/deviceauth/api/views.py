from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.response import Response

from server.apps.core.api.viewsets import ScopedViewSetMixin
from server.apps.core.errors import NotFoundError
from server.apps.device import selectors as device_selectors
from server.apps.deviceauth import selectors, services
from server.apps.deviceauth.api.serializers import (
    A_JWT,
    KEY_TYPE_CHOICES,
    STORED_KEY_TYPES,
    DeviceKeyQuerySerializer,
    DeviceKeySerializer,
)


class DeviceKeyViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """A device's key, at ``device/<d>/key/?type=``. Needs ``can_modify_device`` on the device.

    ``type=a-jwt`` returns a device token for the device (``IOTileCloud.impersonate_device``); other types return
    the stored key when it is marked downloadable (staff: any stored key).
    """

    # Reading a key is modifying-the-device level: viewers of the device get a 403.
    scope_action = "change"
    serializer_class = DeviceKeySerializer

    def get_queryset(self):
        return device_selectors.device_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return device_selectors.device_lookup(value)

    @extend_schema(
        parameters=[OpenApiParameter("type", str, required=True, enum=KEY_TYPE_CHOICES)],
        responses=DeviceKeySerializer,
    )
    def retrieve(self, request, slug=None):
        device = self.get_object()
        query = DeviceKeyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        key_type = query.validated_data["type"]
        if key_type == A_JWT:
            key = services.device_token_issue(user=request.user, device=device)
        else:
            stored = selectors.device_key_for_download(
                user=request.user, device=device, key_type=STORED_KEY_TYPES[key_type]
            )
            if stored is None:
                raise NotFoundError(f"The device has no {key_type} key you may download.")
            key = stored.secret
        return Response(DeviceKeySerializer({"key": key, "type": key_type}).data)
