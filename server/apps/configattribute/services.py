"""Writes on config attribute names (staff) and config attributes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from server.apps.configattribute.models import CONFIG_TARGET_KINDS, ConfigAttribute, ConfigAttributeName
from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import user_can_create
from server.apps.core.services import model_update
from server.apps.core.targets import Target


def _bad(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, {field: [message]})


def _clean_tags(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tag.strip() for tag in tags if tag and tag.strip()))


@transaction.atomic
def config_name_create(
    *, created_by, name: str, description: str = "", tags: Iterable[str] = ()
) -> ConfigAttributeName:
    """A new name in the shared list (staff)."""
    if not created_by.is_staff:
        raise PermissionDeniedError("Only staff may add config names.")
    if ConfigAttributeName.objects.filter(name=name).exists():
        raise _bad("name", f"'{name}' exists already.")
    config_name = ConfigAttributeName(name=name, description=description, tags=_clean_tags(tags), created_by=created_by)
    config_name.full_clean()
    config_name.save()
    return config_name


@transaction.atomic(durable=True)
def config_name_update(
    *, config_name: ConfigAttributeName, description: str | None = None, tags: Iterable[str] | None = None, **_: Any
) -> ConfigAttributeName:
    """Names never change once attributes may use them; their description and tags do."""
    data: dict[str, Any] = {"description": description} if description is not None else {}
    if tags is not None:
        data["tags"] = _clean_tags(tags)
    return model_update(config_name, fields=("description", "tags"), data=data)


def _config_name(name: str) -> ConfigAttributeName:
    config_name = ConfigAttributeName.objects.filter(name=name).first()
    if config_name is None:
        raise _bad("name", f"'{name}' is not a config name; staff add names at config/name/.")
    return config_name


@transaction.atomic
def config_attribute_create(*, user, target: Target, name: str, data: Any) -> ConfigAttribute:
    """A new attribute on ``target`` (visible to ``user``): organisations and projects need
    ``can_manage_org_and_projects``, devices and data blocks ``can_modify_device``, a user only themself."""
    if target.kind not in CONFIG_TARGET_KINDS:
        raise _bad("target", "Config attributes belong to organisations, projects, devices, data blocks and users.")
    attribute = ConfigAttribute(
        target=target.slug,
        target_kind=target.kind,
        org=target.org,
        target_user=target.user,
        name=_config_name(name),
        data=data,
        updated_by=user,
    )
    if not user_can_create(user, attribute):
        raise PermissionDeniedError("You may not configure this target.")
    # A user's own attribute has org_id None, which filter() reads as IS NULL.
    taken = ConfigAttribute.objects.filter(
        org_id=attribute.org_id,  # type: ignore[misc]
        target=attribute.target,
        name=attribute.name,
    )
    if taken.exists():
        raise _bad("name", f"{target.slug} already has '{name}'; change it instead.")
    try:
        with transaction.atomic():
            attribute.save()
    except IntegrityError:  # a concurrent create won
        raise _bad("name", f"{target.slug} already has '{name}'; change it instead.") from None
    return attribute


@transaction.atomic(durable=True)
def config_attributes_create(*, user, entries: Iterable[tuple[Target, dict[str, Any]]]) -> list[ConfigAttribute]:
    return [config_attribute_create(user=user, target=target, **fields) for target, fields in entries]


@transaction.atomic(durable=True)
def config_attribute_update(*, attribute: ConfigAttribute, user, data: Any) -> ConfigAttribute:
    attribute.data = data
    attribute.updated_by = user
    attribute.updated_on = timezone.now()
    attribute.save(update_fields=["data", "updated_by", "updated_on"])
    return attribute


def config_attribute_delete(*, attribute: ConfigAttribute) -> None:
    attribute.delete()
