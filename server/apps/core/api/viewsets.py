"""Generic bases for scoped API viewsets: a viewset declares its queryset, serializer and filterset only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.http import Http404
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from server.apps.core.api.permissions import ScopedObjectPermission
from server.apps.core.inputs import parse_id
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.slugs import SlugError

if TYPE_CHECKING:  # what the mixin is mixed into, for the type checker
    _ViewSet = viewsets.GenericViewSet
else:
    _ViewSet = object


class ScopedViewSetMixin(_ViewSet):
    """Restricts the queryset to what the user may see, and looks objects up by their public id.

    ``object_lookup(value)`` turns the URL's id into filter keywords; the default matches ``lookup_field`` (the slug
    unless the viewset names another), an integer field's value parsed strictly (``core.inputs.parse_id``: anything
    but a ``bigint`` in ASCII digits is a 404). ``find_object(lookup)`` reads the object they name from the scoped
    queryset; a viewset may read it another way for an action (a selector that answers the same rows).
    """

    permission_classes = [IsAuthenticated, ScopedObjectPermission]
    lookup_field = "slug"
    lookup_value_regex = r"[^/]+"
    scope_action: str | None = None

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, "view")

    def object_lookup(self, value: str) -> dict[str, Any]:
        field = self.get_queryset().model._meta.get_field(self.lookup_field)
        return {self.lookup_field: parse_id(value) if isinstance(field, models.IntegerField) else value}

    def find_object(self, lookup: dict[str, Any]) -> Any:
        return self.get_queryset().filter(**lookup).first()

    def get_object(self):
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        try:
            lookup = self.object_lookup(value)
        except (SlugError, ValueError) as exc:
            raise Http404 from exc
        obj = self.find_object(lookup)
        if obj is None:
            raise Http404
        self.check_object_permissions(self.request, obj)
        return obj

    def check_org_permission(self, org, model, action: str = "add") -> None:
        """403 unless the user holds, in the visible ``org``, the permission ``model`` declares for ``action``.

        For creates and other writes that have no object of ``model`` yet to check (an invitation, a membership).
        """
        if not user_has_org_permission(self.request.user, org, permission_for(model, action)):
            self.permission_denied(self.request, message=ScopedObjectPermission.message)


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    pass


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedReadUpdateViewSet(
    ScopedViewSetMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    pass
