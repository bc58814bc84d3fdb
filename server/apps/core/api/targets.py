"""The base for endpoints of metadata named by a generic target slug: properties, config attributes, notes and
locations (server/apps/core/targets.py).

* The list needs ``?target=``: a 400 without it, a 404 when the target is out of scope, then the target's rows the
  user may read.
* Rows are addressed by their integer id; reads and writes on one row go through the usual scoping.
* A POST names its target in the body or, failing that, in ``?target=``. Endpoints with ``bulk_create`` also take
  a list (answered with ``{count}``): every item is checked and every target resolved before anything is written,
  and the service writes them all or none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from server.apps.core.api.viewsets import ScopedModelViewSet
from server.apps.core.targets import Target, target_resolve

TARGET_PARAMETER = OpenApiParameter(
    "target",
    OpenApiTypes.STR,
    required=True,
    description="What the rows belong to: ^<org>, @<user>, or a p--, d--, b--, s-- or v-- slug.",
)
MAX_ITEMS_PER_POST = 10_000


class TargetedViewSet(ScopedModelViewSet):
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"
    # Set by subclasses.
    target_kinds: tuple[str, ...] = ()
    bulk_create: bool = False
    filterset_class: type | None = None
    # ``rows_for_target(user=, target=)``: the target's rows the user may read; ``rows_visible(user=)``: all of them.
    rows_for_target: Callable[..., Any]
    rows_visible: Callable[..., Any]
    # ``create_service(user=, entries=[(target, fields), …]) -> [row, …]``, atomic.
    create_service: Callable[..., list[Any]]

    def request_target(self, value: str | None = None) -> Target:
        """The target ``value`` names (``?target=`` when ``None``), resolved once per request."""
        if value is None:
            value = self.request.query_params.get("target")
        cache = self.__dict__.setdefault("_resolved_targets", {})
        if value not in cache:
            cache[value] = target_resolve(user=self.request.user, value=value, kinds=self.target_kinds)
        return cache[value]

    def get_queryset(self):
        if self.action == "list":
            return type(self).rows_for_target(user=self.request.user, target=self.request_target())
        return type(self).rows_visible(user=self.request.user)

    @extend_schema(parameters=[TARGET_PARAMETER])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        many = isinstance(request.data, list)
        if many and not self.bulk_create:
            raise ValidationError({"detail": "Post one object at a time."})
        if many and not request.data:
            raise ValidationError({"detail": "The list is empty."})
        if many and len(request.data) > MAX_ITEMS_PER_POST:
            raise ValidationError({"detail": f"At most {MAX_ITEMS_PER_POST} items per request."})
        serializer = self.get_serializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data if many else [serializer.validated_data]
        entries = [(self.request_target(item.pop("target", None)), item) for item in items]
        created = type(self).create_service(user=request.user, entries=entries)
        if many:
            return Response({"count": len(created)}, status=status.HTTP_201_CREATED)
        return Response(self.get_serializer(created[0]).data, status=status.HTTP_201_CREATED)
