"""Reads: what a user finds for a text, from the configured backend, within ``restrict(user, "view")``."""

from __future__ import annotations

from collections.abc import Sequence

from server.apps.search.backends import get_backend
from server.apps.search.registry import SearchResult

MAX_QUERY_LENGTH = 200


def search_results(*, user, text: str) -> Sequence[SearchResult]:
    """The hits for ``text``, best first: a sequence a paginator can count and slice (lazily with PostgreSQL)."""
    return get_backend().search(user, text[:MAX_QUERY_LENGTH])
