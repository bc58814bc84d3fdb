"""Search backends. ``settings.SEARCH_BACKEND`` picks one: ``postgres`` (the default) or ``elasticsearch`` (when
``ELASTICSEARCH_URL`` is set)."""

from __future__ import annotations

from django.conf import settings


def get_backend():
    if settings.SEARCH_BACKEND == "elasticsearch":
        from server.apps.search.backends.elasticsearch import ElasticsearchSearchBackend

        return ElasticsearchSearchBackend()
    from server.apps.search.backends.postgres import PostgresSearchBackend

    return PostgresSearchBackend()
