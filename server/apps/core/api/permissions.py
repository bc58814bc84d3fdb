"""DRF permission that applies the model's scope declaration to writes (the 403 half of scoping)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from server.apps.core.scoping import user_can

# How viewset actions map to scope actions when an extra @action does not name its own ``scope_action``.
METHOD_SCOPE_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}
VIEWSET_SCOPE_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


def scope_action_of(view) -> str:
    explicit = getattr(view, "scope_action", None)
    if explicit:
        return explicit
    return VIEWSET_SCOPE_ACTIONS.get(getattr(view, "action", None) or "", METHOD_SCOPE_ACTIONS[view.request.method])


class ScopedObjectPermission(BasePermission):
    """A visible object may be written only with the permission its model declares for the action."""

    message = "You do not have permission to perform this action."

    def has_object_permission(self, request, view, obj) -> bool:
        action = scope_action_of(view)
        if action == "view":
            return True
        return user_can(request.user, obj, action)


class IsStaffOrReadOnly(BasePermission):
    """For the shared catalogs (sensor graphs, device templates, variable types), which belong to no organisation:
    any authenticated user may read them; only staff may write them."""

    message = "Only staff may change the catalog."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_staff
