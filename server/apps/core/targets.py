"""Generic targets: the one resolver for the slugs that metadata (properties, config attributes, notes, locations)
uses to name the object it belongs to, and the two registries that keep core ignorant of the apps on either side.

| form | object |
|---|---|
| ``^<org-slug>`` | organisation |
| ``@<user-slug>`` | account |
| ``p--…`` | project |
| ``d--…`` | device (any lenient form: ``d--1``, ``d--00AB``; a ``d--`` with a block part is that data block) |
| ``b--…`` | data block |
| ``s--…`` | stream |
| ``v--…`` | stream variable |

- **Target types.** The app that owns a model metadata can target registers it in its ``targets.py``
  (:func:`register_target`): its kind, how a slug of that kind is looked up, and the object's slug and organisation.
  Resolution goes through ``Model.objects.restrict(user, action)``, so a target outside the user's scope is a 404
  exactly like the object's own endpoint. An account is visible to itself and to staff only.
- **Metadata types.** The app that owns a :class:`~server.apps.core.models.TargetedModel` registers it in its
  ``targets.py`` (:func:`register_metadata`) with its own services for what happens to its rows when their target
  moves: a device archived into a data block (:func:`metadata_retarget`), a data block deleted
  (:func:`metadata_delete`), a device replaced by another (:func:`metadata_carry_over`). Data blocks and device
  replacement call these, never the metadata apps' tables.

Metadata rows store the canonical slug and the target's organisation, which is what scopes them. Core's ``ready()``
imports every installed app's ``targets.py``, so both registries are complete before a request is served.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Case, Value, When
from django.utils.module_loading import autodiscover_modules

from server.apps.core import slugs
from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.core.lookups import device_id_from

ORG = "org"
USER = "user"
PROJECT = "project"
DEVICE = "device"
BLOCK = "block"
STREAM = "stream"
VARIABLE = "variable"

# The kinds are the slug grammar's (core/slugs.py), so they are declared here; what each names is registered.
KIND_CHOICES = [
    (ORG, "Organisation"),
    (USER, "User"),
    (PROJECT, "Project"),
    (DEVICE, "Device"),
    (BLOCK, "Data block"),
    (STREAM, "Stream"),
    (VARIABLE, "Variable"),
]
_PREFIX_KINDS = {"^": ORG, "@": USER}
_LETTER_KINDS = {"p": PROJECT, "d": DEVICE, "b": BLOCK, "s": STREAM, "v": VARIABLE}


@dataclass(frozen=True)
class Target:
    """A resolved target: its kind, canonical slug, the object, and the organisation it belongs to (``None`` for an
    account, and for an unclaimed device)."""

    kind: str
    slug: str
    obj: models.Model
    org: Any

    @property
    def org_id(self) -> Any:
        return self.org.pk if self.org is not None else None

    @property
    def user(self) -> Any:
        """The account, for a user target."""
        return self.obj if self.kind == USER else None


def _own_slug(obj: Any) -> str:
    return str(obj.slug)


def _own_org(obj: Any) -> Any:
    return obj.org if obj.org_id else None


# Target types -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetType:
    """A model that metadata can target, as its owning app registers it.

    ``lookup(value)`` is the filter for a slug of this kind (raising :class:`slugs.SlugError` when it is not one),
    applied to ``model.objects.restrict(user, action)`` with ``related`` selected; ``find(user=, value=, action=)``
    replaces that scoped query where the model has no scope of its own (accounts). ``slug(obj)`` is the target slug
    of an object and ``org(obj)`` its organisation.
    """

    kind: str
    model: type[models.Model]
    lookup: Callable[[str], dict[str, Any]]
    related: tuple[str, ...] = ()
    slug: Callable[[Any], str] = _own_slug
    org: Callable[[Any], Any] = _own_org
    find: Callable[..., models.Model | None] | None = None


_TARGET_TYPES: dict[str, TargetType] = {}
_TARGET_TYPES_BY_MODEL: dict[str, TargetType] = {}


def register_target(target_type: TargetType) -> TargetType:
    """Declare what a kind of target slug names; each kind once."""
    if target_type.kind not in dict(KIND_CHOICES):
        raise ValueError(f"'{target_type.kind}' is not a target kind")
    if target_type.kind in _TARGET_TYPES:
        raise ValueError(f"target kind '{target_type.kind}' is registered twice")
    _TARGET_TYPES[target_type.kind] = target_type
    _TARGET_TYPES_BY_MODEL[target_type.model._meta.label] = target_type
    return target_type


def target_types() -> list[TargetType]:
    """The registered target types, in the order of :data:`KIND_CHOICES`."""
    return [_TARGET_TYPES[kind] for kind, _ in KIND_CHOICES if kind in _TARGET_TYPES]


# Metadata types ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetadataType:
    """A model whose rows name their target by slug, with its owning app's services for when the target moves.

    - ``retarget(*, org_id, moves)``: the organisation's rows on the slugs in ``moves`` (old slug → (new slug, new
      kind)) follow their target, as a device's data follows it into a data block;
    - ``delete(*, org_id, target)``: the organisation's rows on ``target`` go with it;
    - ``carry_over(*, org_id, source, destination, user)``: what a replacing device takes over from the device it
      replaces.

    A service left ``None`` means the rows stay where they are.
    """

    model: type[models.Model]
    retarget: Callable[..., None] | None = None
    delete: Callable[..., None] | None = None
    carry_over: Callable[..., None] | None = None


_METADATA_TYPES: dict[str, MetadataType] = {}


def register_metadata(metadata_type: MetadataType) -> MetadataType:
    label = metadata_type.model._meta.label
    if label in _METADATA_TYPES:
        raise ValueError(f"{label} is registered twice")
    _METADATA_TYPES[label] = metadata_type
    return metadata_type


def metadata_types() -> list[MetadataType]:
    return list(_METADATA_TYPES.values())


def metadata_retarget(*, org_id: Any, moves: Mapping[str, tuple[str, str]]) -> None:
    """Every metadata type's rows of the organisation on the slugs in ``moves`` follow their target."""
    for metadata_type in _METADATA_TYPES.values():
        if metadata_type.retarget is not None:
            metadata_type.retarget(org_id=org_id, moves=moves)


def metadata_delete(*, org_id: Any, target: str) -> None:
    """Every metadata type's rows of the organisation on ``target`` are deleted with it."""
    for metadata_type in _METADATA_TYPES.values():
        if metadata_type.delete is not None:
            metadata_type.delete(org_id=org_id, target=target)


def metadata_carry_over(*, org_id: Any, source: str, destination: str, user: Any) -> None:
    """``destination`` (a device replacing ``source``) takes over what each metadata type carries over."""
    for metadata_type in _METADATA_TYPES.values():
        if metadata_type.carry_over is not None:
            metadata_type.carry_over(org_id=org_id, source=source, destination=destination, user=user)


def targeted_rows_retarget(rows: models.QuerySet, *, moves: Mapping[str, tuple[str, str]]) -> int:
    """Point ``rows`` (of a :class:`~server.apps.core.models.TargetedModel`) that are on a slug in ``moves`` at its
    new target; one UPDATE, none when there is nothing to move."""
    if not moves:
        return 0
    return rows.filter(target__in=list(moves)).update(
        target=Case(*(When(target=old, then=Value(new)) for old, (new, _) in moves.items())),
        target_kind=Case(*(When(target=old, then=Value(kind)) for old, (_, kind) in moves.items())),
    )


def autodiscover() -> None:
    """Import every installed app's ``targets.py``, which registers its target and metadata types."""
    autodiscover_modules("targets")


# Resolution -------------------------------------------------------------------------------------------------------


def target_kind(value: str) -> str:
    """The kind a target slug names; raises :class:`slugs.SlugError` when it names none."""
    if not isinstance(value, str) or not value.strip():
        raise slugs.SlugError("A target slug is required.")
    value = value.strip()
    if value[0] in _PREFIX_KINDS:
        if len(value) == 1:
            raise slugs.SlugError(f"'{value}' names no {_PREFIX_KINDS[value[0]]}.")
        return _PREFIX_KINDS[value[0]]
    kind = _LETTER_KINDS.get(slugs.slug_kind(value))
    if kind is None:
        raise slugs.SlugError(f"'{value}' is not a target: use ^<org>, @<user>, or a p--, d--, b--, s-- or v-- slug.")
    return kind


def target_for_object(obj: models.Model) -> Target:
    """The target of an object the caller already holds (from a scoped query): no query, no scope check."""
    target_type = _TARGET_TYPES_BY_MODEL.get(obj._meta.label)
    if target_type is None:
        raise ValueError(f"{obj._meta.label} cannot be a target")
    return Target(target_type.kind, target_type.slug(obj), obj, target_type.org(obj))


def _device_or_block(value: str) -> str:
    """A ``d--`` slug names a device, unless it carries a block number in its top group (the clients' form of a
    data block)."""
    try:
        device_id_from(value)
        return DEVICE
    except slugs.SlugError as device_error:
        try:
            slugs.parse_block_slug(value)
        except slugs.SlugError:
            raise device_error from None
        return BLOCK


def _find(*, user: Any, kind: str, value: str, action: str) -> models.Model | None:
    if kind == DEVICE:
        kind = _device_or_block(value)
    target_type = _TARGET_TYPES.get(kind)
    if target_type is None:
        raise slugs.SlugError(f"A {kind} cannot be a target.")
    if target_type.find is not None:
        return target_type.find(user=user, value=value, action=action)
    scoped = target_type.model.objects.restrict(user, action)  # type: ignore[attr-defined]
    found: models.Model | None = scoped.select_related(*target_type.related).filter(**target_type.lookup(value)).first()
    return found


def target_resolve(*, user, value: str | None, kinds: Collection[str] | None = None, action: str = "view") -> Target:
    """The target ``value`` names, among the objects ``user`` may ``action``; one query (none for oneself).

    Missing, malformed, or of a kind not in ``kinds``: a 400 naming the ``target`` field. Unknown or out of scope:
    a 404 that says nothing more.
    """
    if value is None or not str(value).strip():
        raise ApplicationError("A target is required (?target=<slug>).", {"target": ["This parameter is required."]})
    value = str(value).strip()
    try:
        kind = target_kind(value)
        if kinds is not None and kind not in kinds and not (kind == DEVICE and BLOCK in kinds):
            allowed = ", ".join(sorted(kinds))
            raise slugs.SlugError(f"A {kind} cannot be a target here; allowed: {allowed}.")
        obj = _find(user=user, kind=kind, value=value, action=action)
    except slugs.SlugError as exc:
        raise ApplicationError(str(exc), {"target": [str(exc)]}) from exc
    if obj is None:
        raise NotFoundError("Target not found.", {"target": ["Not found."]})
    target = target_for_object(obj)
    if kinds is not None and target.kind not in kinds:
        message = f"A {target.kind} cannot be a target here."
        raise ApplicationError(message, {"target": [message]})
    return target


def target_of(*, user, target: Target | models.Model | str, kinds: Collection[str] | None = None) -> Target:
    """A :class:`Target` from what a caller holds: a target, an object from a scoped query, or a slug (resolved
    for ``user``, so out of scope is a 404)."""
    if isinstance(target, Target):
        return target
    if isinstance(target, models.Model):
        return target_for_object(target)
    return target_resolve(user=user, value=target, kinds=kinds)
