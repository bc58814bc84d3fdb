"""Writes on variable types (staff). Their units are managed with them in a later part."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.text import slugify

from server.apps.vartype.models import VarType


@transaction.atomic
def vartype_create(*, created_by, name: str, slug: str | None = None, **fields: Any) -> VarType:
    var_type = VarType(name=name, slug=slug or slugify(name), created_by=created_by, **fields)
    var_type.full_clean()
    var_type.save()
    return var_type


@transaction.atomic
def vartype_update(var_type: VarType, **fields: Any) -> VarType:
    for key, value in fields.items():
        setattr(var_type, key, value)
    var_type.full_clean()
    var_type.save()
    return var_type
