"""Reads on config attributes, already scoped to a user, and the lookup by priority."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q, QuerySet

from server.apps.configattribute.models import CONFIG_TARGET_KINDS, ConfigAttribute, ConfigAttributeName
from server.apps.core import targets
from server.apps.core.targets import Target, target_of

if TYPE_CHECKING:
    from server.apps.device.models import Device


def config_name_list() -> QuerySet[ConfigAttributeName]:
    return ConfigAttributeName.objects.all()


def config_attribute_list(*, user) -> QuerySet[ConfigAttribute]:
    """Attributes of the organisations ``user`` belongs to, and the user's own."""
    return ConfigAttribute.objects.restrict(user, "view").select_related("name", "updated_by")


def config_attributes_for(*, user, target: Target | models.Model | str) -> QuerySet[ConfigAttribute]:
    target = target_of(user=user, target=target, kinds=CONFIG_TARGET_KINDS)
    return config_attribute_list(user=user).filter(target=target.slug, org_id=target.org_id)


def config_priority(*, target: Target, user) -> list[tuple[str, object]]:
    """Where a lookup for ``target`` searches, first to last, as ``(target slug, org id)``: a device, then its
    project, its organisation, and the user asking; a data block or project, then its organisation and the user;
    an organisation, then the user; a user, only themself. Reads no rows: the objects come with the target."""
    # For a device target, a Device: a project of its own when claimed.
    obj: Any = target.obj
    chain: list[tuple[str, object]] = []
    if target.kind == targets.USER:
        return [(target.slug, None)]
    chain.append((target.slug, target.org_id))
    if target.kind == targets.DEVICE and obj.project_id is not None:
        chain.append((obj.project.slug, obj.project.org_id))
    if target.kind != targets.ORG and target.org is not None:
        chain.append((f"^{target.org.slug}", target.org_id))
    chain.append((f"@{user.slug}", None))
    return chain


def config_attribute_search(*, user, target: Target | models.Model | str, name: str) -> ConfigAttribute | None:
    """The attribute ``name`` that applies to ``target`` (see :func:`config_priority`); one query."""
    target = target_of(user=user, target=target, kinds=CONFIG_TARGET_KINDS)
    chain = config_priority(target=target, user=user)
    where = Q(pk__in=[])
    for slug, org_id in chain:
        where |= Q(target=slug, org_id=org_id)
    found = {(row.target, row.org_id): row for row in config_attribute_list(user=user).filter(where, name__name=name)}
    for key in chain:
        if key in found:
            return found[key]
    return None


def config_attributes_resolved(*, user, target: Target | models.Model | str) -> list[ConfigAttribute]:
    """For each name that any level of ``target``'s chain (:func:`config_priority`) has, the attribute that
    applies, as :func:`config_attribute_search` would find it; ordered by name. One query."""
    target = target_of(user=user, target=target, kinds=CONFIG_TARGET_KINDS)
    chain = config_priority(target=target, user=user)
    rank = {key: position for position, key in enumerate(chain)}
    where = Q(pk__in=[])
    for slug, org_id in chain:
        where |= Q(target=slug, org_id=org_id)
    applied: dict[str, ConfigAttribute] = {}
    for row in config_attribute_list(user=user).filter(where):
        current = applied.get(row.name.name)
        if current is None or rank[(row.target, row.org_id)] < rank[(current.target, current.org_id)]:
            applied[row.name.name] = row
    return [applied[name] for name in sorted(applied)]


def config_values_for_devices(*, devices: Sequence[Device]) -> dict[int, dict[str, Any]]:
    """For each device, ``{name: data}`` of every config name that applies to it, the nearest level winning: the
    device, then its project, then its organisation (:func:`config_priority` without a user: the platform's own
    read, when a device comes online). One query for any number of devices, which come with their project and
    organisation."""
    chains: dict[int, list[tuple[str, object]]] = {}
    for device in devices:
        chain: list[tuple[str, object]] = [(device.slug, device.org_id)]
        if device.project is not None:
            chain.append((device.project.slug, device.project.org_id))
        if device.org is not None:
            chain.append((f"^{device.org.slug}", device.org_id))
        chains[device.pk] = chain
    wanted = {key for chain in chains.values() for key in chain}
    rows: dict[tuple[str, object], dict[str, Any]] = {}
    attributes = ConfigAttribute.objects.filter(
        target__in={slug for slug, _ in wanted}, org_id__in={org_id for _, org_id in wanted}
    ).values_list("target", "org_id", "name__name", "data")
    for target, org_id, name, data in attributes:
        if (target, org_id) in wanted:
            rows.setdefault((target, org_id), {})[name] = data
    values: dict[int, dict[str, Any]] = {}
    for device_id, chain in chains.items():
        merged: dict[str, Any] = {}
        for key in reversed(chain):
            merged.update(rows.get(key, {}))
        values[device_id] = merged
    return values
