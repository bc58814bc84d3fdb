"""Page-number pagination: ``{count, next, previous, results}`` with ``page`` and a bounded ``page_size``."""

from typing import Any

from django.core.paginator import Page
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from server.apps.core.inputs import InputError, parse_count

PAGE_SIZE_ERROR = "A whole number, 1 or more (more than the list's largest page reads its largest page)."


class StrictPageSizePagination(PageNumberPagination):
    """DRF's page-number pagination, with a ``page_size`` that is a whole number of 1 or more or a 400 naming it
    (DRF reads ``-5``, ``0`` or ``abc`` as the default size); above ``max_page_size`` it reads that size."""

    max_page_size: int = 1000

    def get_page_size(self, request: Request) -> int | None:
        name = self.page_size_query_param or "page_size"
        given = request.query_params.get(name)
        if not given:  # absent or empty, as a filter's empty value: the default
            return self.page_size
        try:
            return parse_count(given, minimum=1, cap=self.max_page_size)
        except InputError as exc:
            raise ValidationError({name: [PAGE_SIZE_ERROR]}) from exc

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters


class StandardPagination(StrictPageSizePagination):
    page_size = 100
    page_size_query_param = "page_size"


class LargePagination(StrictPageSizePagination):
    """For lists that clients read in bulk: devices, stream data, events, notes, locations."""

    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 10000


class ExtraLargePagination(StrictPageSizePagination):
    """For stream lists, which analytics reads with ``all=1``."""

    page_size = 5000
    page_size_query_param = "page_size"
    max_page_size = 20000


class ShortFirstPagePagination(LargePagination):
    """``LargePagination`` that spares the count query when the first page holds everything: it reads one row more
    than the page, and when that row is not there the rows are the whole list and their number is the count. Later
    pages, and a first page with more behind it, count as usual. For stream data, where a ``lastn`` or a time window
    usually fits in one page."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        if request.query_params.get(self.page_query_param, "1") != "1":
            return super().paginate_queryset(queryset, request, view)
        size = self.get_page_size(request)
        if size is None:
            return None
        rows = list(queryset[: size + 1])
        paginator = self.django_paginator_class(queryset, size)
        if len(rows) <= size:
            paginator.count = len(rows)  # a cached property: set, it is not queried
        self.request = request
        page = rows[:size]
        self.page = Page(page, 1, paginator)
        return page
