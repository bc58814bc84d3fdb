"""Service helpers every app's services use."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from django.db import models

ModelT = TypeVar("ModelT", bound=models.Model)

# Set when a row is made, never by an update.
CREATION_FIELDS = ("created_on", "created_by")


def editable_fields(model: type[models.Model], *, exclude: Collection[str] = ()) -> tuple[str, ...]:
    """The fields of ``model`` an update may set: its editable columns, less the primary key, the creation fields
    and ``exclude``. For catalog entries, whose API serializer already limits what can be sent."""
    return tuple(
        field.name
        for field in model._meta.concrete_fields
        if field.editable and not field.primary_key and field.name not in (*CREATION_FIELDS, *exclude)
    )


def model_update(
    instance: ModelT,
    *,
    fields: Collection[str],
    data: Mapping[str, Any],
    clean_exclude: Collection[str] = (),
    save_fields: Collection[str] | None = None,
) -> ModelT:
    """Set those of ``fields`` that ``data`` holds on ``instance``, validate it and save it.

    ``fields`` is what the calling service lets its callers change; any other key of ``data`` is left alone (the
    service handles it, or it is not the caller's to set). Validation is the model's ``full_clean()`` (less
    ``clean_exclude``): a ``ValidationError`` that the API answers with a 400. The whole row is saved, so what the
    service set itself before the call is saved too, unless ``save_fields`` names the columns to write (where
    another writer owns the others, such as a worker's progress).
    """
    for field in fields:
        if field in data:
            setattr(instance, field, data[field])
    instance.full_clean(exclude=list(clean_exclude) or None)
    if save_fields is None:
        instance.save()
    else:
        instance.save(update_fields=list(save_fields))
    return instance
