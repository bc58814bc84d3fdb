"""The one scoping mechanism.

Every scoped model uses :class:`ScopedQuerySet` as its manager and declares two things:

* ``scope_org_path``: the lookup from the model to its organisation (``"org"``, ``"project__org"``; ``""`` for
  ``Org`` itself);
* ``scope_permissions``: the organisation permission each action needs (``view``, ``add``, ``change``,
  ``delete``, plus any extra action the model names, such as ``claim``). A missing entry means membership is
  enough; :data:`STAFF_ONLY` keeps the action for staff.

``Model.objects.restrict(user, action)`` returns what the user may act on. The API and the dashboard both start
from ``restrict(user, "view")``, so an object outside the user's scope is a 404; a visible object the user may not
change is a 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from django.apps import apps
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

STAFF_ONLY = "__staff__"
ACTIONS = ("view", "add", "change", "delete")


def permission_for(model: type[models.Model], action: str) -> str | None:
    """The permission ``action`` needs on ``model``: one of :data:`ACTIONS`, or an extra action the model declares
    in ``scope_permissions`` (``"claim"`` on devices, ``"read_data"`` on streams)."""
    declared = getattr(model, "scope_permissions", {})
    if action not in ACTIONS and action not in declared:
        raise ValueError(f"unknown scope action {action!r}")
    return declared.get(action)


def member_org_ids(user: AbstractBaseUser | AnonymousUser, permission: str | None = None) -> models.QuerySet:
    """A subquery of the ids of the organisations where ``user`` is an active member with ``permission``."""
    membership = apps.get_model("org", "OrgMembership")
    memberships = membership.objects.filter(user_id=user.pk, is_active=True)
    if permission:
        memberships = memberships.filter(**{f"permissions__{permission}": True})
    return memberships.values("org_id")


class ScopedQuerySet(models.QuerySet):
    def restrict(self, user: AbstractBaseUser | AnonymousUser | None, action: str = "view") -> Self:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_staff:
            return self
        permission = permission_for(self.model, action)
        if permission == STAFF_ONLY:
            return self.none()
        org_path = self.model.scope_org_path
        lookup = f"{org_path}_id__in" if org_path else "pk__in"
        return self.filter(**{lookup: member_org_ids(user, permission)})


def user_has_org_permission(user: Any, org: Any, permission: str | None) -> bool:
    """Whether ``user`` may use ``permission`` in ``org`` (membership alone when ``permission`` is None)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    if permission == STAFF_ONLY or org is None:
        return False
    return member_org_ids(user, permission).filter(org_id=org.pk).exists()


def user_can(user: Any, obj: models.Model, action: str) -> bool:
    """Whether ``user`` may perform ``action`` on the visible object ``obj``."""
    return type(obj).objects.restrict(user, action).filter(pk=obj.pk).exists()
