"""Generic targets: the one resolver for the slugs that metadata (properties, config attributes, notes, locations)
uses to name the object it belongs to.

| form | object |
|---|---|
| ``^<org-slug>`` | organisation |
| ``@<user-slug>`` | account |
| ``p--…`` | project |
| ``d--…`` | device (any lenient form: ``d--1``, ``d--00AB``; a ``d--`` with a block part is that data block) |
| ``b--…`` | data block |
| ``s--…`` | stream |
| ``v--…`` | stream variable |

Resolution goes through ``Model.objects.restrict(user, action)``, so a target outside the user's scope is a 404
exactly like the object's own endpoint. An account is visible to itself and to staff only. Metadata rows store the
canonical slug and the target's organisation, which is what scopes them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models

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
_MODEL_KINDS = {
    "org.Org": ORG,
    "authentication.Account": USER,
    "project.Project": PROJECT,
    "device.Device": DEVICE,
    "datablock.DataBlock": BLOCK,
    "stream.StreamId": STREAM,
    "stream.StreamVariable": VARIABLE,
}


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
    kind = _MODEL_KINDS.get(obj._meta.label)
    if kind is None:
        raise ValueError(f"{obj._meta.label} cannot be a target")
    # The models in _MODEL_KINDS all have a slug, and all but organisations and accounts an org.
    named: Any = obj
    if kind == ORG:
        return Target(ORG, f"^{named.slug}", obj, obj)
    if kind == USER:
        return Target(USER, f"@{named.slug}", obj, None)
    return Target(kind, named.slug, obj, named.org if named.org_id else None)


def _scoped(model_label: str, user, action: str) -> models.QuerySet:
    return apps.get_model(model_label).objects.restrict(user, action)


def _device_or_block_lookup(value: str) -> tuple[str, dict[str, Any]]:
    """A ``d--`` slug names a device, unless it carries a block number in its top group (the clients' form of a
    data block)."""
    try:
        return DEVICE, {"id": device_id_from(value)}
    except slugs.SlugError as device_error:
        try:
            device_id, block = slugs.parse_block_slug(value)
        except slugs.SlugError:
            raise device_error from None
        return BLOCK, {"slug": slugs.block_slug(device_id, block)}


def _find(*, user, kind: str, value: str, action: str) -> models.Model | None:
    if kind == ORG:
        return _scoped("org.Org", user, action).filter(slug=value[1:]).first()
    if kind == USER:
        if user.is_authenticated and user.slug == value[1:]:
            return user
        if user.is_staff:
            return apps.get_model("authentication.Account").objects.filter(slug=value[1:]).first()
        return None
    if kind == PROJECT:
        lookup: dict[str, Any] = {"gid": slugs.parse_project_slug(value)}
        return _scoped("project.Project", user, action).select_related("org").filter(**lookup).first()
    if kind == DEVICE:
        kind, lookup = _device_or_block_lookup(value)
        if kind == DEVICE:
            return _scoped("device.Device", user, action).select_related("org", "project").filter(**lookup).first()
        return _find(user=user, kind=BLOCK, value=lookup["slug"], action=action)
    if kind == BLOCK:
        lookup = {"slug": slugs.block_slug(*slugs.parse_block_slug(value))}
        return _scoped("datablock.DataBlock", user, action).select_related("org", "device").filter(**lookup).first()
    if kind == STREAM:
        lookup = {"slug": slugs.parse_stream_slug(value).slug}
        return (
            _scoped("stream.StreamId", user, action).select_related("org", "project", "device").filter(**lookup).first()
        )
    lookup = {"slug": slugs.variable_slug(*slugs.parse_variable_slug(value))}
    return _scoped("stream.StreamVariable", user, action).select_related("org", "project").filter(**lookup).first()


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
