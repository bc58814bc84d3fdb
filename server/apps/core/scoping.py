"""The one scoping mechanism.

Every scoped model uses :class:`ScopedQuerySet` as its manager and declares two things:

* ``scope_org_path``: the lookup from the model to its organisation (``"org"``, ``"project__org"``; ``""`` for
  ``Org`` itself);
* ``scope_permissions``: the organisation permission each action needs (``view``, ``add``, ``change``,
  ``delete``, plus any extra action the model names, such as ``claim``). A missing entry means membership is
  enough; :data:`STAFF_ONLY` keeps the action for staff. When the permission depends on the row, a
  :class:`PermissionByField` names it per value of one of the row's fields (config attributes: by target kind).

A model may also declare ``scope_owner_path``, the lookup to a user who owns the row outright: rows with no
organisation that belong to one user (user-level config attributes). The owner may do every action the model does
not keep for staff.

A credential narrower than its user's account (a device's ``a-jwt`` token) sets ``user.token_scope``, a
:class:`TokenScope`: ``restrict`` narrows every queryset through it (staff included), and the organisation checks
ask it first, so such a request reaches only what the token allows, and only as far as the user's role allows.

``Model.objects.restrict(user, action)`` returns what the user may act on. The API and the dashboard both start
from ``restrict(user, "view")``, so an object outside the user's scope is a 404; a visible object the user may not
change is a 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q, Value

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from server.apps.authentication.models import Account

_QuerySet = TypeVar("_QuerySet", bound=models.QuerySet)

STAFF_ONLY = "__staff__"
ACTIONS = ("view", "add", "change", "delete")


@dataclass(frozen=True)
class PermissionByField:
    """A permission that depends on a field of the row: ``PermissionByField("target_kind", {"device":
    "can_modify_device", "org": "can_manage_org_and_projects"})``. A value not in the mapping is staff only."""

    field: str
    permissions: Mapping[str, str | None]

    def for_value(self, value: Any) -> str | None:
        return self.permissions.get(value, STAFF_ONLY)


@dataclass(frozen=True)
class Ability:
    """A named question the dashboard asks about the user's role: may they ``action`` a ``model`` (what its
    ``scope_permissions`` declare)? Templates read it as ``can.<name>``. Each is a constant in its model's app,
    declared once (``READ_STREAM_DATA = Ability("read_data_streamid", StreamId, "read_data")``), so a name in a
    template can be found where it is defined, and a name no constant declares fails a test."""

    name: str
    model: type[models.Model]
    action: str

    def __post_init__(self) -> None:
        known = _ABILITIES.setdefault(self.name, self)
        if known != self:
            raise ValueError(f"ability {self.name!r} is declared twice")


_ABILITIES: dict[str, Ability] = {}


def ability_named(name: str) -> Ability:
    """The declared ability ``name``; ``KeyError`` when no constant declares it."""
    return _ABILITIES[name]


def abilities_declared() -> dict[str, Ability]:
    return dict(_ABILITIES)


def _declared_permission(model: type[models.Model], action: str) -> str | PermissionByField | None:
    declared = getattr(model, "scope_permissions", {})
    if action not in ACTIONS and action not in declared:
        raise ValueError(f"unknown scope action {action!r}")
    return declared.get(action)


def permission_for(model: type[models.Model], action: str, obj: models.Model | None = None) -> str | None:
    """The permission ``action`` needs on ``model``: one of :data:`ACTIONS`, or an extra action the model declares
    in ``scope_permissions`` (``"claim"`` on devices, ``"read_data"`` on streams). A :class:`PermissionByField`
    is read from ``obj``, which must then be given."""
    declared = _declared_permission(model, action)
    if isinstance(declared, PermissionByField):
        if obj is None:
            raise ValueError(f"{model.__name__} {action!r} depends on the row's {declared.field}: pass obj")
        return declared.for_value(getattr(obj, declared.field))
    return declared


def member_org_ids(user: AbstractBaseUser | AnonymousUser, permission: str | None = None) -> models.QuerySet:
    """A subquery of the ids of the organisations where ``user`` is an active member with ``permission``."""
    membership = apps.get_model("org", "OrgMembership")
    memberships = membership.objects.filter(user_id=user.pk, is_active=True)
    if permission:
        memberships = memberships.filter(**{f"permissions__{permission}": True})
    return memberships.values("org_id")


class TokenScope(Protocol):
    """What a narrowed credential lets its user reach (``deviceauth.tokens.DeviceScope`` for ``a-jwt`` tokens)."""

    def narrow(self, queryset: _QuerySet, action: str) -> _QuerySet:
        """``queryset`` cut down to the rows the credential reaches for ``action`` (none for a model it does not
        name)."""

    def allows_org_permission(self, org: Any, permission: str | None) -> bool:
        """Whether the credential may use ``permission`` in ``org`` at all."""

    def allows_create(self, obj: models.Model) -> bool:
        """Whether the credential may add ``obj``, an unsaved row."""


def token_scope(user: Any) -> TokenScope | None:
    """The scope of the credential the request authenticated with, when it is narrower than the account."""
    return getattr(user, "token_scope", None)


class ScopedQuerySet(models.QuerySet):
    def restrict(self, user: Account | AnonymousUser | None, action: str = "view") -> Self:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        scope = token_scope(user)
        queryset = scope.narrow(self, action) if scope is not None else self
        if user.is_staff:
            return queryset
        permission = _declared_permission(self.model, action)
        if permission == STAFF_ONLY:
            return self.none()
        # Every scoped model declares scope_org_path (see the module docstring); the stubs cannot know it.
        org_path = self.model.scope_org_path  # type: ignore[attr-defined]
        lookup = f"{org_path}_id__in" if org_path else "pk__in"
        if isinstance(permission, PermissionByField):
            values_by_permission: dict[str | None, list[Any]] = {}
            for value, needed in permission.permissions.items():
                if needed != STAFF_ONLY:
                    values_by_permission.setdefault(needed, []).append(value)
            # An empty Q() would match every row, so start from one that matches none.
            condition = Q(pk__in=[])
            for needed, values in values_by_permission.items():
                condition |= Q(**{f"{permission.field}__in": values, lookup: member_org_ids(user, needed)})
        else:
            condition = Q(**{lookup: member_org_ids(user, permission)})
        owner_path = getattr(self.model, "scope_owner_path", "")
        if owner_path:
            condition |= Q(**{owner_path: user.pk})
        return queryset.filter(condition)

    def with_permission(self, user: Account | AnonymousUser | None, action: str) -> Self:
        """Each row annotated with whether ``user`` may ``action`` it, read in the query that fetches the row:
        :func:`user_can` then reads the annotation instead of asking the database once more (a hot read's fixed
        cost is its round trips)."""
        return self.annotate(**{permission_annotation(action): self._held_expression(user, action)})

    def _held_expression(self, user: Account | AnonymousUser | None, action: str) -> Any:
        permission = _declared_permission(self.model, action)
        if (
            user is not None
            and user.is_authenticated
            and user.is_active
            and token_scope(user) is None
            and not isinstance(permission, PermissionByField)
            and not getattr(self.model, "scope_owner_path", "")
        ):
            # The usual case, as restrict() decides it, without restrict()'s second scan of the model's table.
            if user.is_staff or permission == STAFF_ONLY:
                return Value(user.is_staff)
            org_path = self.model.scope_org_path  # type: ignore[attr-defined]
            org = OuterRef(f"{org_path}_id" if org_path else "pk")
            return Exists(member_org_ids(user, permission).filter(org_id=org))
        allowed = self.model.objects.restrict(user, action)  # type: ignore[attr-defined]
        return Value(False) if allowed.query.is_empty() else Exists(allowed.filter(pk=OuterRef("pk")))


def permission_annotation(action: str) -> str:
    """The annotation :meth:`ScopedQuerySet.with_permission` sets for ``action`` (and :func:`user_can` reads)."""
    return f"scope_may_{action}"


def user_has_org_permission(user: Any, org: Any, permission: str | None) -> bool:
    """Whether ``user`` may use ``permission`` in ``org`` (membership alone when ``permission`` is None)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    scope = token_scope(user)
    if scope is not None and not scope.allows_org_permission(org, permission):
        return False
    if user.is_staff:
        return True
    if permission == STAFF_ONLY or org is None:
        return False
    return member_org_ids(user, permission).filter(org_id=org.pk).exists()


def _value_at(obj: models.Model, path: str) -> Any:
    """The id at the end of a ``scope_*_path`` (``"project__org"`` → ``obj.project.org_id``) on an unsaved row."""
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id")


def user_can_create(user: Any, obj: models.Model) -> bool:
    """Whether ``user`` may add ``obj``, an unsaved row, by the rules :meth:`ScopedQuerySet.restrict` applies to
    saved ones: its organisation's permission for ``add``, or owning it (``scope_owner_path``)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    scope = token_scope(user)
    if scope is not None and not scope.allows_create(obj):
        return False
    if user.is_staff:
        return True
    model = type(obj)
    if _declared_permission(model, "add") == STAFF_ONLY:
        return False
    owner_path = getattr(model, "scope_owner_path", "")
    if owner_path and _value_at(obj, owner_path) == user.pk:
        return True
    permission = permission_for(model, "add", obj)
    if permission == STAFF_ONLY:
        return False
    # Declared by every scoped model (see the module docstring).
    org_path = model.scope_org_path  # type: ignore[attr-defined]
    org_id = _value_at(obj, org_path) if org_path else obj.pk
    if org_id is None:
        return False
    return member_org_ids(user, permission).filter(org_id=org_id).exists()


def user_can(user: Any, obj: models.Model, action: str) -> bool:
    """Whether ``user`` may perform ``action`` on the visible object ``obj`` (fetched ``with_permission`` for that
    action: no query)."""
    held = getattr(obj, permission_annotation(action), None)
    if held is not None:
        return bool(held)
    # A scoped model's ``objects`` is a ScopedQuerySet manager (see the module docstring).
    return type(obj).objects.restrict(user, action).filter(pk=obj.pk).exists()  # type: ignore[attr-defined]
