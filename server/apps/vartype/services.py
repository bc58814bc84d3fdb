"""Writes on variable types and their units (staff: the catalog views allow nobody else).

A unit converts with ``value * m / d + o``: an input unit from the unit a device reports in into the type's storage
units, an output unit from storage units into the unit shown. Units are named ``in--<type>--<unit>`` and
``out--<type>--<unit>``; writing a unit whose slug exists updates it, so a type's units can be sent again whole.

A type's API detail, units included, is cached (docs/cache.md): every write here drops it with
:func:`vartype_cache_forget`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from django.core.cache import cache
from django.core.validators import slug_re
from django.db import transaction
from django.utils.text import slugify

from server.apps.core.errors import ApplicationError
from server.apps.core.services import editable_fields, model_update
from server.apps.vartype.models import VARTYPE_SLUG_LENGTH, VarType, VarTypeInputUnit, VarTypeOutputUnit

Direction = Literal["in", "out"]
UNIT_MODELS = {"in": VarTypeInputUnit, "out": VarTypeOutputUnit}
UNIT_FIELDS = {
    "in": ("unit_full", "unit_short", "m", "d", "o"),
    "out": ("unit_full", "unit_short", "m", "d", "o", "decimal_places", "derived_units"),
}
# Variable types change rarely; the timeout only bounds how long an entry an invalidation missed could live.
VARTYPE_CACHE_SECONDS = 3600

# What ``vartype_update`` lets a caller change; not the slug, which the units' slugs embed.
VARTYPE_FIELDS = editable_fields(VarType, exclude=("slug",))


def vartype_cache_key(slug: str) -> str | None:
    """Where the detail of the variable type ``slug`` is cached. None for a value no variable type's slug can be
    (other characters than a slug's, or longer than the field): it is looked up, a 404, and never reaches the cache,
    whose keys hold no space or control character and stay short for every backend."""
    if len(slug) > VARTYPE_SLUG_LENGTH or not slug_re.match(slug):
        return None
    return f"vartype:detail:{slug}"


def vartype_cache_forget(slug: str) -> None:
    """Drop the cached detail of ``slug`` once the transaction commits (now, outside one), so a reader cannot cache
    the old rows again in between."""
    key = vartype_cache_key(slug)
    if key is not None:
        transaction.on_commit(lambda: cache.delete(key))


def unit_slug(direction: Direction, var_type_slug: str, unit_full: str) -> str:
    """``unit_slug("in", "water-volume", "Gallons") == "in--water-volume--gallons"``."""
    return f"{direction}--{var_type_slug}--{slugify(unit_full)}"


def vartype_unit_set(*, var_type: VarType, direction: Direction, unit_full: str, **fields: Any):
    """Add the unit ``unit_full`` to ``var_type``, or update it when the type has it already."""
    if not slugify(unit_full):
        raise ApplicationError("A unit needs a name.", {"unit_full": ["A unit needs a name."]})
    model = UNIT_MODELS[direction]
    slug = unit_slug(direction, var_type.slug, unit_full)
    unit = model._default_manager.filter(slug=slug).first() or model(var_type=var_type, slug=slug)
    unit.unit_full = unit_full
    for key, value in fields.items():
        if key in UNIT_FIELDS[direction]:
            setattr(unit, key, value)
    if unit.d == 0:
        raise ApplicationError("A unit's divisor d must not be 0.", {"d": ["Must not be 0."]})
    unit.full_clean()
    unit.save()
    vartype_cache_forget(var_type.slug)
    return unit


def _set_units(var_type: VarType, direction: Direction, units: Iterable[Mapping[str, Any]]) -> None:
    for unit in units:
        vartype_unit_set(var_type=var_type, direction=direction, **unit)


@transaction.atomic
def vartype_create(
    *,
    created_by,
    name: str,
    slug: str | None = None,
    input_units: Iterable[Mapping[str, Any]] = (),
    output_units: Iterable[Mapping[str, Any]] = (),
    **fields: Any,
) -> VarType:
    """A variable type with its units (each a mapping of the unit's fields, ``unit_full`` required)."""
    var_type = VarType(name=name, slug=slug or slugify(name), created_by=created_by, **fields)
    if not var_type.slug:
        raise ApplicationError("A variable type needs a name that makes a slug.", {"name": ["Not usable."]})
    var_type.full_clean()
    var_type.save()
    _set_units(var_type, "in", input_units)
    _set_units(var_type, "out", output_units)
    vartype_cache_forget(var_type.slug)
    return var_type


@transaction.atomic(durable=True)
def vartype_update(
    *,
    var_type: VarType,
    input_units: Iterable[Mapping[str, Any]] | None = None,
    output_units: Iterable[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> VarType:
    """Change a type's fields; units given are added or updated (units left out stay: streams may use them)."""
    model_update(var_type, fields=VARTYPE_FIELDS, data=fields)
    _set_units(var_type, "in", input_units or ())
    _set_units(var_type, "out", output_units or ())
    vartype_cache_forget(var_type.slug)
    return var_type
