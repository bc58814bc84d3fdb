"""Writes on properties and property templates.

A property's value arrives as JSON (a number, a boolean or text) and is stored as text with its type. When the
target's organisation has a template of the same name, the template fixes the type and, with enums, the values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import user_can_create
from server.apps.core.targets import BLOCK, DEVICE, PROJECT, Target, targeted_rows_retarget
from server.apps.property.models import (
    BOOL_FALSE,
    BOOL_TRUE,
    STR_VALUE_MAX_LENGTH,
    GenericProperty,
    GenericPropertyOrgEnum,
    GenericPropertyOrgTemplate,
    PropertyType,
)

PROPERTY_TARGET_KINDS = (DEVICE, PROJECT, BLOCK)
_TRUE_WORDS = ("true", "yes", "1", "on")
_FALSE_WORDS = ("false", "no", "0", "off")
_UNSET: Any = object()


def _bad(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, {field: [message]})


def property_type_of(value: Any) -> str:
    """The type a value given without one gets: booleans and integers keep theirs, anything else is text."""
    if isinstance(value, bool):
        return PropertyType.BOOL
    if isinstance(value, int):
        return PropertyType.INT
    return PropertyType.STR


def property_stored_value(type_: str, value: Any, field: str = "value") -> str:
    """The text stored for ``value`` as a ``type_`` property; a 400 naming ``field`` when it is not one."""
    if value is None:
        raise _bad(field, "A value is required.")
    if type_ == PropertyType.BOOL:
        if isinstance(value, bool):
            return BOOL_TRUE if value else BOOL_FALSE
        word = str(value).strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return BOOL_TRUE if word in _TRUE_WORDS else BOOL_FALSE
        raise _bad(field, f"'{value}' is not true or false.")
    if type_ == PropertyType.INT:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise _bad(field, f"'{value}' is not an integer.")
        try:
            return str(int(value) if isinstance(value, float) else int(str(value).strip()))
        except ValueError:
            raise _bad(field, f"'{value}' is not an integer.") from None
    if isinstance(value, dict | list):
        raise _bad(field, "A property holds a number, a yes/no or text, not a JSON object or list.")
    text = str(value)
    if len(text) > STR_VALUE_MAX_LENGTH:
        raise _bad(field, f"At most {STR_VALUE_MAX_LENGTH} characters.")
    return text


def _template_for(org_id, name: str) -> GenericPropertyOrgTemplate | None:
    if org_id is None:
        return None
    return GenericPropertyOrgTemplate.objects.filter(org_id=org_id, name=name).prefetch_related("enums").first()


def _apply_value(prop: GenericProperty, *, value: Any, type_: str | None, infer_type: bool = False) -> None:
    """Set the type and stored value, held to the organisation's template of that name. Without a type (and
    template) the current one stays, or with ``infer_type`` the value's own is used."""
    template = _template_for(prop.org_id, prop.name)
    if template is not None:
        if type_ and type_ != template.type:
            raise _bad("type", f"'{prop.name}' is a {template.type} property in this organisation.")
        type_ = template.type
    elif not type_ and infer_type:
        type_ = property_type_of(value)
    prop.type = type_ or prop.type
    prop.str_value = property_stored_value(prop.type, value)
    if template is not None:
        allowed = [enum.value for enum in template.enums.all()]
        if allowed and prop.str_value not in allowed:
            raise _bad(
                "value", f"'{prop.str_value}' is not allowed for '{prop.name}'; use one of: {', '.join(allowed)}."
            )


def _check_name_free(prop: GenericProperty) -> None:
    # A target without an organisation has org_id None, which filter() reads as IS NULL.
    taken = GenericProperty.objects.filter(org_id=prop.org_id, target=prop.target, name=prop.name)  # type: ignore[misc]
    if prop.pk:
        taken = taken.exclude(pk=prop.pk)
    if taken.exists():
        raise _bad("name", f"{prop.target} already has a property named '{prop.name}'.")


def _save(prop: GenericProperty) -> GenericProperty:
    prop.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            prop.save()
    except IntegrityError:  # a concurrent write took the name between the check and the save
        raise _bad("name", f"{prop.target} already has a property named '{prop.name}'.") from None
    return prop


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise _bad("name", "A name is required.")
    return name


@transaction.atomic
def property_create(
    *, user, target: Target, name: str, value: Any, type: str | None = None, is_system: bool = False
) -> GenericProperty:
    """A new property on ``target`` (a device, project or data block ``user`` can see)."""
    if target.kind not in PROPERTY_TARGET_KINDS:
        raise _bad("target", "Properties belong to devices, projects and data blocks.")
    prop = GenericProperty(
        target=target.slug,
        target_kind=target.kind,
        org=target.org,
        name=_clean_name(name),
        is_system=is_system,
        created_by=user,
    )
    if not user_can_create(user, prop):
        raise PermissionDeniedError("You may not change properties in this organisation.")
    _apply_value(prop, value=value, type_=type, infer_type=True)
    _check_name_free(prop)
    return _save(prop)


@transaction.atomic(durable=True)
def property_update(
    *, prop: GenericProperty, name: str | None = None, value: Any = _UNSET, type: str | None = None, is_system=None
) -> GenericProperty:
    """Rename, retype or give a new value; a new type without a value converts the current one."""
    if name is not None:
        prop.name = _clean_name(name)
        _check_name_free(prop)
    if is_system is not None:
        prop.is_system = is_system
    if value is _UNSET:
        value = prop.value
    _apply_value(prop, value=value, type_=type)
    return _save(prop)


def property_delete(*, prop: GenericProperty) -> None:
    prop.delete()


# Templates --------------------------------------------------------------------------------------------------------


def _stored_enums(type_: str, values: Iterable[Any]) -> list[str]:
    stored = [property_stored_value(type_, value, field="enums") for value in values]
    return list(dict.fromkeys(stored))


@transaction.atomic(durable=True)
def property_template_create(
    *,
    user,
    org,
    name: str,
    type: str = PropertyType.STR,
    default: Any = "",
    is_system: bool = False,
    enums: Iterable[Any] = (),
) -> GenericPropertyOrgTemplate:
    template = GenericPropertyOrgTemplate(
        org=org, name=_clean_name(name), type=type, is_system=is_system, created_by=user
    )
    if not user_can_create(user, template):
        raise PermissionDeniedError("You may not manage this organisation's property templates.")
    if GenericPropertyOrgTemplate.objects.filter(org=org, name=template.name).exists():
        raise _bad("name", f"{org.slug} already has a property template named '{template.name}'.")
    template.default = property_stored_value(type, default, field="default") if default not in ("", None) else ""
    template.full_clean(validate_unique=False, validate_constraints=False)
    template.save()
    _replace_enums(template, _stored_enums(type, enums))
    _check_default_allowed(template)
    return template


def _check_default_allowed(template: GenericPropertyOrgTemplate) -> None:
    allowed = list(template.enums.values_list("value", flat=True))
    if template.default and allowed and template.default not in allowed:
        raise _bad("default", f"The default '{template.default}' is not one of the enums.")


def _replace_enums(template: GenericPropertyOrgTemplate, values: list[str]) -> None:
    template.enums.exclude(value__in=values).delete()
    existing = set(template.enums.values_list("value", flat=True))
    GenericPropertyOrgEnum.objects.bulk_create(
        [GenericPropertyOrgEnum(template=template, value=value) for value in values if value not in existing]
    )


@transaction.atomic(durable=True)
def property_template_update(
    *,
    template: GenericPropertyOrgTemplate,
    name: str | None = None,
    type: str | None = None,
    default: Any = _UNSET,
    is_system: bool | None = None,
    enums: Iterable[Any] | None = None,
) -> GenericPropertyOrgTemplate:
    """Edit a template; ``enums``, when given, replaces the allowed values. Existing properties are left as
    they are: the template holds new values to its rules."""
    if name is not None and name != template.name:
        template.name = _clean_name(name)
        if GenericPropertyOrgTemplate.objects.filter(org_id=template.org_id, name=template.name).exists():
            raise _bad("name", f"There is already a property template named '{template.name}'.")
    if type is not None and type != template.type:
        template.type = type
        if enums is None:
            enums = list(template.enums.values_list("value", flat=True))
        if default is _UNSET:
            default = template.default
    if default is not _UNSET:
        template.default = property_stored_value(template.type, default, "default") if default not in ("", None) else ""
    if is_system is not None:
        template.is_system = is_system
    template.full_clean(validate_unique=False, validate_constraints=False)
    template.save()
    if enums is not None:
        _replace_enums(template, _stored_enums(template.type, enums))
    _check_default_allowed(template)
    return template


def property_template_delete(*, template: GenericPropertyOrgTemplate) -> None:
    template.delete()


@transaction.atomic(durable=True)
def property_template_enum_add(*, template: GenericPropertyOrgTemplate, value: Any) -> GenericPropertyOrgEnum:
    stored = property_stored_value(template.type, value)
    enum, _ = GenericPropertyOrgEnum.objects.get_or_create(template=template, value=stored)
    return enum


def property_template_enum_remove(*, template: GenericPropertyOrgTemplate, value: Any) -> int:
    stored = property_stored_value(template.type, value)
    deleted, _ = template.enums.filter(value=stored).delete()
    return deleted


@transaction.atomic(durable=True)
def properties_create(*, user, entries: Iterable[tuple[Target, dict[str, Any]]]) -> list[GenericProperty]:
    """Create properties from ``(target, fields)`` pairs, all or none."""
    return [property_create(user=user, target=target, **fields) for target, fields in entries]


# When the target moves (core/targets.py's metadata registry) ------------------------------------------------------


def properties_retarget(*, org_id, moves: Mapping[str, tuple[str, str]]) -> None:
    """The organisation's properties on the slugs in ``moves`` follow their target (a device into its data block),
    except system properties, which are copied: the device still describes itself by them."""
    rows = GenericProperty.objects.filter(org_id=org_id)
    copies = []
    for prop in rows.filter(target__in=list(moves), is_system=True):
        prop.pk, prop.id = None, None
        prop.target, prop.target_kind = moves[prop.target]
        copies.append(prop)
    GenericProperty.objects.bulk_create(copies, ignore_conflicts=True)
    targeted_rows_retarget(rows.filter(is_system=False), moves=moves)


def properties_delete(*, org_id, target: str) -> None:
    """The organisation's properties on ``target``, deleted with it."""
    GenericProperty.objects.filter(org_id=org_id, target=target).delete()


def properties_carry_over(*, org_id, source: str, destination: str, user) -> None:
    """A replacing device takes over the replaced one's own (non-system) properties where it has none of that
    name."""
    rows = GenericProperty.objects.filter(org_id=org_id)
    existing = rows.filter(target=destination).values_list("name", flat=True)
    copies = [
        GenericProperty(
            target=destination,
            target_kind=prop.target_kind,
            org_id=prop.org_id,
            name=prop.name,
            type=prop.type,
            str_value=prop.str_value,
            created_by=user,
        )
        for prop in rows.filter(target=source, is_system=False).exclude(name__in=existing)
    ]
    GenericProperty.objects.bulk_create(copies, ignore_conflicts=True)
