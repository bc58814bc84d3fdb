"""The API's OpenAPI generator (settings ``DEFAULT_SCHEMA_CLASS``): drf-spectacular's, and truthful about nulls.

A serializer field declared by hand (``lat = DecimalField(read_only=True)``, ``sg = SlugRelatedField(...)``) does not
say that its model column, or a relation on its way there, may be null, so the schema would promise a value where
the API answers ``null``. Such fields are marked nullable from the model.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular import openapi
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers


def source_is_nullable(field: serializers.Field) -> bool:
    """Whether the model path a serializer field reads (its ``source``) may hold null on the way."""
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    attrs = getattr(field, "source_attrs", None) or []
    if model is None or not attrs or field.source == "*":
        return False
    for attr in attrs:
        try:
            model_field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            return False
        if getattr(model_field, "null", False):
            return True
        if not isinstance(model_field, models.ForeignKey | models.OneToOneField):
            return False
        model = model_field.related_model
    return False


class AutoSchema(openapi.AutoSchema):
    def _get_serializer_field_meta(self, field: Any, direction: str) -> dict[str, Any]:
        meta = super()._get_serializer_field_meta(field, direction)
        if direction == "response" and isinstance(field, serializers.Field) and source_is_nullable(field):
            meta["nullable"] = True
        return meta


def write_schemas(*, create: Any = None, update: Any = None, response: Any, created: Any = None, **more: Any) -> Any:
    """The schema of a viewset whose writes take their own serializers and answer with ``response``: ``create``
    (201, answered with ``created`` where that differs) and ``update`` (also the partial update) as request bodies,
    each left out for a viewset that has no such write; ``more`` adds other actions' schemas."""
    schemas = dict(more)
    if create is not None:
        schemas["create"] = extend_schema(request=create, responses={201: created or response})
    if update is not None:
        schemas["update"] = extend_schema(request=update, responses=response)
        schemas["partial_update"] = extend_schema(request=update, responses=response)
    return extend_schema_view(**schemas)
