"""The base for shared catalog endpoints (sensor graphs, device templates, variable types).

Catalog entries belong to no organisation, so they are not scoped: any authenticated user reads them, staff write
them (:class:`IsStaffOrReadOnly`). They are named by slug. Writes go through the app's services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from server.apps.core.api.permissions import IsStaffOrReadOnly


class CatalogViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAuthenticated, IsStaffOrReadOnly]
    lookup_field = "slug"
    lookup_value_regex = r"[^/]+"
    # Set by subclasses: ``create_service(*, created_by=user, **fields)`` and
    # ``update_service(*, <update_instance>=instance, **fields)``, where ``update_instance`` names the argument that
    # takes the entry being changed (``sg``, ``template``, ``var_type``…).
    create_service: Callable[..., Any]
    update_service: Callable[..., Any]
    update_instance: str

    def perform_create(self, serializer) -> None:
        serializer.instance = type(self).create_service(created_by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer) -> None:
        instance = {self.update_instance: serializer.instance}
        serializer.instance = type(self).update_service(**instance, **serializer.validated_data)
