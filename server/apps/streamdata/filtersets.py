"""Query-string filters on stream data: a time window, a streamer-id range, and the last N readings."""

from __future__ import annotations

from collections.abc import Iterable

import django_filters
from django.db.models import QuerySet

from server.apps.core.filtersets import IsoDateTimeFilter
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.selectors.rows import DATA_ORDERING, NewestRows

LASTN_LIMIT = 100_000


class StreamDataFilterSet(django_filters.FilterSet):
    start = IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="start (ISO, inclusive)")
    end = IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt", label="end (ISO, exclusive)")
    streamer_id_0 = django_filters.NumberFilter(field_name="streamer_local_id", lookup_expr="gte")
    streamer_id_1 = django_filters.NumberFilter(field_name="streamer_local_id", lookup_expr="lte")
    # Declared last: it windows what the other filters left.
    lastn = django_filters.NumberFilter(
        method="last_n", min_value=0, label=f"the last N readings (at most {LASTN_LIMIT})"
    )

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

    def last_n(self, queryset: QuerySet[StreamData], name: str, value) -> QuerySet[StreamData]:
        """The last N readings by timestamp, still listed oldest first."""
        count = min(int(value), LASTN_LIMIT)
        newest = queryset.order_by(*(f"-{field}" for field in DATA_ORDERING)).values("pk")[:count]
        return StreamData.objects.filter(pk__in=newest).order_by(*DATA_ORDERING)

    def rows(self, columns: Iterable[str]) -> QuerySet | NewestRows:
        """The rows the filters leave (call ``is_valid()`` first), as tuples of ``columns``, oldest first: a
        queryset, or with ``lastn`` the newest N read in one index range (``NewestRows``) rather than through
        ``last_n``'s second lookup by id."""
        values = self.form.cleaned_data
        queryset = self.queryset
        for name, value in values.items():
            if name != "lastn":
                queryset = self.filters[name].filter(queryset, value)
        if values.get("lastn") is None:
            return queryset.values_list(*columns)
        count = min(int(values["lastn"]), LASTN_LIMIT)
        return NewestRows(queryset, count, columns) if count else queryset.none().values_list(*columns)
