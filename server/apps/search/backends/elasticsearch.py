"""The Elasticsearch backend (``ELASTICSEARCH_URL`` set): the cluster ranks, the database decides what is visible.

One query per kind goes out in a single multi-search. The cluster only sees documents of the user's organisations
(a coarse filter: membership, not the role's permissions); the hits are then read back through
``restrict(user, "view")``, so a hit the user may not see is dropped exactly as in the PostgreSQL backend. When the
cluster cannot be reached, the search is answered by the PostgreSQL backend and the failure logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from elasticsearch import ApiError, TransportError
from elasticsearch.dsl import MultiSearch, Q, Search

from server.apps.core.scoping import member_org_ids
from server.apps.search.backends.postgres import PostgresSearchBackend, SearchResults
from server.apps.search.documents import documents, fragment_field_names
from server.apps.search.registry import COLUMNS, SearchIndex, SearchResult, registry

# The same order as PostgreSQL's weights (A counts ten times D).
BOOSTS = {"A": 10, "B": 4, "C": 2, "D": 1}
EXACT_BOOST = 20
FRAGMENT_BOOST = 5
MIN_FRAGMENT = 3
# Hits read per kind; the merged list is what the API pages through.
MAX_HITS = 200
_WILDCARD_SPECIAL = re.compile(r"([*?\\])")
logger = logging.getLogger(__name__)


def build_search(index: SearchIndex, text: str, org_ids: list[str] | None) -> Search | None:
    """The query for one kind, or ``None`` when ``text`` can match nothing there. ``org_ids=None``: staff."""
    text = text.strip()
    should = []
    if index.fields and re.search(r"[^\W_]", text):
        should.append(
            Q(
                "multi_match",
                query=text,
                type="bool_prefix",
                operator="and",
                fields=[f"{field}^{BOOSTS[weight]}" for field, weight in index.fields],
            )
        )
    canonical = index.canonical_slug(text)
    if canonical:
        should.append(Q("term", slug={"value": canonical, "boost": EXACT_BOOST}))
    if len(text) >= MIN_FRAGMENT:
        pattern = "*" + _WILDCARD_SPECIAL.sub(r"\\\1", text) + "*"
        should.extend(
            Q("wildcard", **{name: {"value": pattern, "case_insensitive": True, "boost": FRAGMENT_BOOST}})
            for name in fragment_field_names(index)
        )
    if not should:
        return None
    query = Q("bool", should=should, minimum_should_match=1)
    if org_ids is not None:
        query = Q("bool", must=[query], filter=[Q("terms", org_id=org_ids)])
    return documents()[index.kind].search().query(query).source(False).extra(size=MAX_HITS)


def visible_org_ids(user) -> list[str] | None:
    if user.is_staff:
        return None
    return [str(org_id) for org_id in member_org_ids(user).values_list("org_id", flat=True)]


class ElasticsearchSearchBackend:
    name = "elasticsearch"

    def search(self, user, text: str) -> Sequence[SearchResult] | SearchResults:
        if not (user and user.is_authenticated and user.is_active):
            return []
        org_ids = visible_org_ids(user)
        searches = [(index, s) for index in registry.values() if (s := build_search(index, text, org_ids))]
        if not searches:
            return []
        multi = MultiSearch(using=searches[0][1]._using)
        for _index, s in searches:
            multi = multi.add(s)
        try:
            responses = multi.execute()
        except (TransportError, ApiError):
            logger.exception("Elasticsearch search failed; answering from PostgreSQL")
            return PostgresSearchBackend().search(user, text)
        results = []
        for (index, _s), response in zip(searches, responses, strict=True):
            scores = {hit.meta.id: hit.meta.score for hit in response}
            results.extend(self.visible_results(index, user, scores))
        results.sort(key=lambda result: (-result.score, result.kind, result.slug))
        return results

    def visible_results(self, index: SearchIndex, user, scores: dict[str, float]) -> list[SearchResult]:
        if not scores:
            return []
        pk_field = index.model._meta.pk
        pks = [pk_field.to_python(pk) for pk in scores]
        rows = index.with_columns(index.visible(user).filter(pk__in=pks)).values(*COLUMNS)
        return [index.result(row, scores[row["hit_pk"]]) for row in rows]
