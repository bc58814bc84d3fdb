"""Elasticsearch documents (django-elasticsearch-dsl), one per search index, built from the same declarations.

A document holds the index's weighted ``fields`` as text, its slug and ``fragment_fields`` as keywords (matched
whole or by wildcard), and the organisation's id, which narrows what the cluster returns before the hits are read
back through ``restrict(user, "view")``. Index names are ``<ELASTICSEARCH_INDEX_PREFIX>-<kind>``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django_elasticsearch_dsl import Document, fields
from django_elasticsearch_dsl.registries import registry as document_registry

from server.apps.search.registry import SearchIndex, registry

# Raw keyword copies of text fields are compared case-insensitively by wildcard queries; longer values are not kept.
KEYWORD_IGNORE_ABOVE = 256


def index_name(kind: str) -> str:
    return f"{settings.ELASTICSEARCH_INDEX_PREFIX}-{kind}"


def _org_id(index: SearchIndex, obj: Any) -> str | None:
    value: Any = obj
    # Declared by every scoped model (core/scoping.py); indexed models are scoped.
    *hops, last = index.model.scope_org_path.split("__")  # type: ignore[attr-defined]
    for hop in hops:
        value = getattr(value, hop)
        if value is None:
            return None
    org_id = getattr(value, f"{last}_id")
    return None if org_id is None else str(org_id)


def build_document(index: SearchIndex) -> type[Document]:
    """A Document class for ``index``, registered with django-elasticsearch-dsl."""
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "kind": fields.KeywordField(),
        "slug": fields.KeywordField(),
        "org_id": fields.KeywordField(),
        "Index": type("Index", (), {"name": index_name(index.kind), "settings": {"number_of_shards": 1}}),
        "Django": type("Django", (), {"model": index.model}),
        "prepare_kind": lambda self, obj: index.kind,
        "prepare_slug": lambda self, obj: index.instance_slug(obj),
        "prepare_org_id": lambda self, obj: _org_id(index, obj),
    }
    for field, _weight in index.fields:
        raw = {"raw": fields.KeywordField(ignore_above=KEYWORD_IGNORE_ABOVE)} if field in index.fragment_fields else {}
        attrs[field] = fields.TextField(attr=field, fields=raw)
    for field in index.fragment_fields:
        attrs.setdefault(field, fields.KeywordField(attr=field, ignore_above=KEYWORD_IGNORE_ABOVE))
    document = type(f"{index.model.__name__}Document", (Document,), attrs)
    return document_registry.register_document(document)


@cache
def documents() -> dict[str, type[Document]]:
    """kind -> Document class, built once the search registry is complete."""
    return {kind: build_document(index) for kind, index in registry.items()}


def fragment_field_names(index: SearchIndex) -> list[str]:
    """The keyword fields a fragment is looked for in: the slug, then each fragment field (its raw copy when the
    field is also searched as text)."""
    text_fields = {field for field, _weight in index.fields}
    return ["slug", *(f"{field}.raw" if field in text_fields else field for field in index.fragment_fields)]


# django-elasticsearch-dsl imports each app's documents.py when it is installed; register ours then.
if "django_elasticsearch_dsl" in settings.INSTALLED_APPS:
    documents()
