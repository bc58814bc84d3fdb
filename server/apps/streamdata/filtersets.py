"""Query-string filters on stream data: a time window, a streamer-id range, the last N readings, and ``mask`` (read,
not acted on)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.forms import Form
from django.http import QueryDict

from server.apps.core.filtersets import LASTN_LIMIT, IsoDateTimeFilter, LastNFilter
from server.apps.core.lookups import IgnoredBooleanFilter
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.selectors.rows import DATA_ORDERING, NewestRows


class StreamDataFilterSet(django_filters.FilterSet):
    start = IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="start (ISO, inclusive)")
    end = IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt", label="end (ISO, exclusive)")
    streamer_id_0 = django_filters.NumberFilter(field_name="streamer_local_id", lookup_expr="gte")
    streamer_id_1 = django_filters.NumberFilter(field_name="streamer_local_id", lookup_expr="lte")
    mask = IgnoredBooleanFilter(label="true or false; accepted, no masks yet")
    # Declared last: it windows what the other filters left.
    lastn = LastNFilter(method="last_n", label=f"the last N readings (at most {LASTN_LIMIT})")

    class Meta:
        model = StreamData
        fields: list[str] = []

    def get_form_class(self):
        """The form depends only on the declared filters: built once per filterset class (django-filter builds a
        new form class for every request)."""
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            cls._form_class = form_class
        return form_class

    def last_n(self, queryset: QuerySet[StreamData], name: str, value: int) -> QuerySet[StreamData]:
        """The last N readings by timestamp, still listed oldest first."""
        newest = queryset.order_by(*(f"-{field}" for field in DATA_ORDERING)).values("pk")[:value]
        return StreamData.objects.filter(pk__in=newest).order_by(*DATA_ORDERING)

    @classmethod
    def bound_form(cls, data: QueryDict) -> Form:
        """The filterset's form on ``data``, without the filterset: building one deep-copies its filters, which
        costs a small read more than its query (``filtered_rows`` applies the filters from their values)."""
        form_class = cls.__dict__.get("_form_class") or cls().get_form_class()
        return form_class(data)

    def rows(self, columns: Iterable[str]) -> QuerySet | NewestRows:
        """The rows the filters leave (call ``is_valid()`` first), as :func:`filtered_rows` gives them."""
        return filtered_rows(self.queryset, self.form.cleaned_data, columns)


def filtered(queryset: QuerySet[StreamData], values: dict[str, Any]) -> QuerySet[StreamData]:
    """``queryset`` filtered by the cleaned ``values`` of every filter but ``lastn``."""
    for name, value in values.items():
        if name != "lastn":
            queryset = StreamDataFilterSet.base_filters[name].filter(queryset, value)
    return queryset


def filtered_rows(
    queryset: QuerySet[StreamData], values: dict[str, Any], columns: Iterable[str]
) -> QuerySet | NewestRows:
    """The rows of ``queryset`` that the filters' cleaned ``values`` leave, as tuples of ``columns``, oldest first: a
    queryset, or with ``lastn`` the newest N read in one index range (``NewestRows``) rather than through
    ``last_n``'s second lookup by id."""
    queryset = filtered(queryset, values)
    if values.get("lastn") is None:
        return queryset.values_list(*columns)
    if values["lastn"]:
        try:
            return NewestRows.of_queryset(queryset, values["lastn"], columns)
        except EmptyResultSet:  # a filter no row meets, which Django leaves out of the SQL (a streamer id past 2**63)
            pass
    return queryset.none().values_list(*columns)
