"""The default backend: PostgreSQL full-text search, computed in the query.

Each index gives one query over ``restrict(user, "view")``: its weighted ``fields`` as a ``tsvector`` matched by
prefix (``temp`` finds "Temperature"), plus its slug exactly (in any lenient form) or in part, and its
``fragment_fields`` in part. The queries of all kinds are combined with ``UNION ALL`` and ordered by score, so
counting and paging happen in the database: two queries per page, however many kinds.
"""

from __future__ import annotations

import re
from functools import reduce
from operator import add
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import models
from django.db.models import Case, F, Q, Value, When

from server.apps.search.registry import COLUMNS, SearchIndex, registry

# No stemming: names, labels and ids are not English prose, and prefixes work on the words as written.
CONFIG = "simple"
# A slug typed in full beats any word match (ts_rank stays below 1). A slug or id in part counts about as much as a
# word in a C-weighted field, so "valve" still ranks a label above an external id that contains it.
EXACT_BONUS = 2.0
FRAGMENT_BONUS = 0.01
# Shorter fragments would match most slugs.
MIN_FRAGMENT = 3
MAX_TERMS = 10
_WORD = re.compile(r"[^\W_]+")


def prefix_tsquery(text: str) -> SearchQuery | None:
    """``"temp Sensor"`` → ``temp:* & sensor:*``. Only word characters reach the tsquery, so no input can break
    its syntax."""
    terms = _WORD.findall(text.lower())[:MAX_TERMS]
    if not terms:
        return None
    return SearchQuery(" & ".join(f"{term}:*" for term in terms), search_type="raw", config=CONFIG)


class PostgresSearchBackend:
    name = "postgres"

    def search(self, user, text: str) -> SearchResults:
        text = text.strip()
        parts = [query for index in registry.values() if (query := self.index_query(index, user, text)) is not None]
        if not parts:
            return SearchResults(None)
        combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        return SearchResults(combined.order_by("-hit_score", "hit_kind", "hit_slug"))

    def index_query(self, index: SearchIndex, user, text: str) -> models.QuerySet | None:
        queryset = index.with_columns(index.visible(user))
        match = Q(pk__in=[])
        score: Any = Value(0.0, output_field=models.FloatField())
        tsquery = prefix_tsquery(text)
        if tsquery is not None and index.fields:
            vector = reduce(add, (SearchVector(field, weight=weight, config=CONFIG) for field, weight in index.fields))
            queryset = queryset.annotate(hit_vector=vector)
            match |= Q(hit_vector=tsquery)
            score = SearchRank(F("hit_vector"), tsquery)
        bonuses = []
        canonical = index.canonical_slug(text)
        if canonical:
            bonuses.append(When(hit_slug=canonical, then=Value(EXACT_BONUS)))
            match |= Q(hit_slug=canonical)
        if len(text) >= MIN_FRAGMENT:
            fragment = Q(hit_slug__icontains=text)
            for field in index.fragment_fields:
                fragment |= Q(**{f"{field}__icontains": text})
            bonuses.append(When(fragment, then=Value(FRAGMENT_BONUS)))
            match |= fragment
        if not bonuses and tsquery is None:
            return None
        if bonuses:
            score = score + Case(*bonuses, default=Value(0.0), output_field=models.FloatField())
        # No per-kind ordering (the models' default would sort, and join, for nothing): the union is ordered once.
        return queryset.filter(match).annotate(hit_score=score).values(*COLUMNS, "hit_score").order_by()


class SearchResults:
    """The hits of one search, read lazily: the paginator's count and slice run in the database, and only the rows
    of the page become :class:`SearchResult`."""

    def __init__(self, queryset: models.QuerySet | None):
        self.queryset = queryset

    def count(self) -> int:
        return 0 if self.queryset is None else self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice | int):
        if isinstance(item, int):
            return self[item : item + 1][0]
        if self.queryset is None:
            return []
        return [registry[row["hit_kind"]].result(row, row["hit_score"]) for row in self.queryset[item]]

    def __iter__(self):
        return iter(self[:])
