"""Query-string filters shared by the apps: ISO 8601 times read as UTC, ``lastn`` read as a whole number within its
cap, and a base for timestamped rows (notes, locations) with ``start``, ``end`` and ``lastn``."""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField

from server.apps.core.forms import utc_or_invalid
from server.apps.core.inputs import InputError, parse_count

LASTN_LIMIT = 100_000
TIME_ORDERING = ("timestamp", "id")


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, turned into UTC: an offset PostgreSQL cannot hold (``-18:04``) is read in UTC, and a time out
    of UTC's range is a 400, not a database error."""

    def to_python(self, value: Any) -> datetime.datetime | None:
        return utc_or_invalid(super().to_python(value))


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class LastNField(forms.IntegerField):
    """A whole number of rows in ASCII digits, 0 or more, read as ``page_size`` is (``inputs.parse_count``); above
    ``LASTN_LIMIT`` it is read as ``LASTN_LIMIT``, the documented cap (iotile.cloud's too), however many digits it
    has. A sign, a fraction, an exponent (``1e30``), ``_`` or other scripts' digits (``١٢``) is a 400."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return parse_count(str(value), cap=LASTN_LIMIT)
        except InputError as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc


class LastNFilter(django_filters.NumberFilter):
    """``lastn``: keep the newest N rows (its filterset's ``method``), N as :class:`LastNField` reads it."""

    field_class = LastNField


class TimeWindowFilterSet(django_filters.FilterSet):
    """``start`` (inclusive) and ``end`` (exclusive) are ISO 8601; ``lastn`` keeps the newest N of what the other
    filters left, still oldest first. Subclasses set ``Meta.model``; the model needs a ``timestamp`` field."""

    start = IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="start (ISO, inclusive)")
    end = IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt", label="end (ISO, exclusive)")
    lastn = LastNFilter(method="last_n", label=f"the last N (at most {LASTN_LIMIT})")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Every other filter first, whatever the order subclasses declare them in; then ``lastn``."""
        values = self.form.cleaned_data
        for name, value in values.items():
            if name != "lastn":
                queryset = self.filters[name].filter(queryset, value)
        return self.filters["lastn"].filter(queryset, values.get("lastn"))

    def last_n(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        newest = queryset.order_by(*(f"-{field}" for field in TIME_ORDERING)).values("pk")[:value]
        return queryset.filter(pk__in=newest).order_by(*TIME_ORDERING)
