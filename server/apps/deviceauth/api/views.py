from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.core.api.viewsets import ScopedViewSetMixin
from server.apps.core.errors import NotFoundError
from server.apps.device import selectors as device_selectors
from server.apps.deviceauth import selectors, services
from server.apps.deviceauth.api.serializers import (
    A_JWT,
    KEY_TYPE_CHOICES,
    MANAGED_KEY_TYPES,
    STORED_KEY_TYPES,
    DeviceKeyInfoSerializer,
    DeviceKeyQuerySerializer,
    DeviceKeySecretSerializer,
    DeviceKeySerializer,
    DeviceKeySetSerializer,
    managed_key_type,
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


KEY_TYPE_PARAMETER = OpenApiParameter(
    "key_type", str, OpenApiParameter.PATH, enum=list(MANAGED_KEY_TYPES), description="The key's type."
)


class DeviceKeyManageViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """A device's stored keys at ``device/<d>/keys/``: listed (never their secrets) to those who may modify the
    device; set, rotated and revoked by staff only. Rotating or revoking the token signing key (``a-jwt``) ends
    every device token issued before; a claim key (``claim``) is asked for when the device is claimed."""

    scope_action = "change"
    serializer_class = DeviceKeyInfoSerializer

    def get_queryset(self):
        return device_selectors.device_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return device_selectors.device_lookup(value)

    def _key(self, device, key_type: str):
        key = selectors.device_keys(device=device).filter(type=managed_key_type(key_type)).first()
        if key is None:
            raise NotFoundError(f"The device has no {key_type} key.")
        return key

    @extend_schema(responses=DeviceKeyInfoSerializer(many=True))
    def list(self, request, slug=None):
        page = self.paginate_queryset(selectors.device_keys(device=self.get_object()))
        return self.get_paginated_response(DeviceKeyInfoSerializer(page, many=True).data)

    @extend_schema(request=DeviceKeySetSerializer, responses={201: DeviceKeySecretSerializer})
    def create(self, request, slug=None):
        device = self.get_object()
        body = DeviceKeySetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = services.device_key_set(
            device=device,
            type=MANAGED_KEY_TYPES[body.validated_data["type"]],
            secret=body.validated_data.get("secret") or None,
            downloadable=body.validated_data["downloadable"],
            created_by=request.user,
        )
        return Response(DeviceKeySecretSerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[KEY_TYPE_PARAMETER], responses=DeviceKeyInfoSerializer)
    def retrieve(self, request, slug=None, key_type=None):
        return Response(DeviceKeyInfoSerializer(self._key(self.get_object(), key_type)).data)

    @extend_schema(parameters=[KEY_TYPE_PARAMETER], responses={204: None})
    def destroy(self, request, slug=None, key_type=None):
        device = self.get_object()
        services.device_key_revoke(device=device, type=self._key(device, key_type).type, revoked_by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[KEY_TYPE_PARAMETER], request=None, responses=DeviceKeySecretSerializer)
    @action(detail=True, methods=["post"])
    def rotate(self, request, slug=None, key_type=None):
        device = self.get_object()
        key = services.device_key_rotate(device=device, type=self._key(device, key_type).type, rotated_by=request.user)
        return Response(DeviceKeySecretSerializer(key).data)
