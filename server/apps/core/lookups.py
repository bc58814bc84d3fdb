"""Public ids in URLs and query strings turned into queryset lookups (and query-string filters), parsed in the
lenient forms the clients write and strictly otherwise (core/slugs.py, core/inputs.py).

A project is named by its UUID or its ``p--`` slug; a device by its ``d--`` slug in any form the clients send
(``d--1``, ``d--00AB``, ``0x12ab``) or by its integer id written in decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.constants import EMPTY_VALUES

from server.apps.core import slugs
from server.apps.core.inputs import is_id, parse_uuid
from server.apps.core.slugs import SlugError

TRUE_WORDS = frozenset({"true", "1"})
FALSE_WORDS = frozenset({"false", "0"})


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``, any case); anything else is invalid (django-filter's own boolean filter
    reads ``?active=maybe`` as no filter at all)."""

    def to_python(self, value: Any) -> bool | None:
        if value in EMPTY_VALUES:
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValidationError(f"'{str(value)[:50]}' is not true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean query-string filter that answers 400 to a value it cannot read, as a choice filter does (a boolean
    filter still, so the OpenAPI schema says boolean whatever the field or method behind it)."""

    field_class = StrictBooleanField


class IgnoredBooleanField(StrictBooleanField):
    """A boolean read as strictly, then cleaned to None: see :class:`IgnoredBooleanFilter`."""

    def to_python(self, value: Any) -> None:
        super().to_python(value)
        return None


class IgnoredBooleanFilter(StrictBooleanFilter):
    """A boolean the contract documents and the platform does not act on (``mask`` on data/, event/ and df/: it keeps
    no masks yet). A value it cannot read is a 400 as for any boolean; a good one is cleaned to None, so it filters
    nothing and what applies a form's cleaned values one by one (the compiled lastn statements) never meets it."""

    field_class = IgnoredBooleanField


def project_lookup(value: str, prefix: str = "") -> dict[str, Any]:
    """``{"<prefix>id": uuid}`` or ``{"<prefix>gid": n}``; raises :class:`slugs.SlugError` for anything else."""
    value = str(value)
    try:
        return {f"{prefix}id": parse_uuid(value)}
    except ValueError:
        pass
    if not value.startswith("p--"):
        raise slugs.SlugError(f"'{value}' is neither a project id nor a 'p--' slug")
    return {f"{prefix}gid": slugs.parse_project_slug(value)}


def device_id_from(value: str | int) -> int:
    """The device id: decimal digits are the integer id itself; anything else is read as a ``d--`` slug."""
    if isinstance(value, int):
        return slugs.parse_device_slug(value)
    value = str(value)
    if is_id(value):
        return slugs.parse_device_slug(int(value))
    return slugs.parse_device_slug(value)


class PublicIdFilter(django_filters.CharFilter):
    """A query-string filter on an object named by a public id; ``lookup(value)`` returns filter keywords.

    A malformed id is a 400 with a clear message rather than an empty list.
    """

    def __init__(self, *args, lookup: Callable[[str], dict[str, Any]], **kwargs) -> None:
        self.lookup = lookup
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        try:
            keywords = self.lookup(value)
        except (SlugError, ValueError) as exc:
            raise ValidationError({self.field_name: [str(exc)]}) from exc
        return qs.filter(**keywords)


def project_filter(path: str = "project") -> PublicIdFilter:
    """``?project=<uuid or p-- slug>`` for a model whose project is at ``path``."""
    return PublicIdFilter(field_name="project", lookup=lambda value: project_lookup(value, prefix=f"{path}__"))
