"""Page-number pagination: ``{count, next, previous, results}`` with ``page`` and a bounded ``page_size``."""

from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class LargePagination(PageNumberPagination):
    """For lists that clients read in bulk: devices, stream data, events, notes, locations."""

    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 10000


class ExtraLargePagination(PageNumberPagination):
    """For stream lists, which analytics reads with ``all=1``."""

    page_size = 5000
    page_size_query_param = "page_size"
    max_page_size = 20000
