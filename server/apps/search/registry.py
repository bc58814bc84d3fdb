"""The search registry: each app's ``search.py`` declares what is searchable, once, for every backend.

An index names its model, a ``kind``, the text ``fields`` with a weight each (``"A"`` counts most, ``"D"`` least),
the ``fragment_fields`` matched as substrings (ids people paste in pieces) and how a hit is shown (slug, title,
detail). Access always goes through ``Model.objects.restrict(user, "view")``: a backend may find candidates its own
way, but what a user gets back is read through that queryset.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, ClassVar

from django.apps import apps
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Cast

from server.apps.core import slugs
from server.apps.search.links import object_url

WEIGHTS = ("A", "B", "C", "D")
# The columns every index's rows have, in this order, so the rows of several models can be combined in one query.
COLUMNS = ("hit_kind", "hit_pk", "hit_slug", "hit_title", "hit_detail", "hit_org", "hit_link_kind")
TEXT = models.CharField()


@dataclass(frozen=True)
class SearchResult:
    kind: str
    slug: str
    title: str
    detail: str
    url: str | None
    org: str | None
    score: float


class SearchIndex:
    model: ClassVar[type[models.Model]]
    kind: ClassVar[str]
    # (field, weight) pairs searched as words, by prefix: "temp" finds "Temperature".
    fields: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Besides the slug, fields matched as case-insensitive substrings (the slug's "0012" finds
    # d--0000-0000-0000-0012; an external id in part finds its device).
    fragment_fields: ClassVar[tuple[str, ...]] = ()
    # The letter of the kind's slugs (``"d"`` for ``d--…``): a slug in any lenient form is matched exactly.
    slug_letter: ClassVar[str] = ""

    # How a hit is shown. Each is an SQL expression giving text, so no per-row query is needed.

    def slug_expression(self) -> Any:
        return F("slug")

    def title_expression(self) -> Any:
        raise NotImplementedError

    def detail_expression(self) -> Any:
        return Value("", output_field=TEXT)

    def link_kind_expression(self) -> Any:
        """The kind of object the hit links to: itself, or what a property describes."""
        return Value(self.kind, output_field=TEXT)

    def instance_slug(self, obj: models.Model) -> str:
        """The hit's slug read from an object (what :meth:`slug_expression` computes in SQL)."""
        # Every indexed model has a slug (a subclass whose hits link elsewhere says so in slug_expression).
        return obj.slug  # type: ignore[attr-defined]

    def canonical_slug(self, text: str) -> str | None:
        """``text`` as this kind's canonical slug when it is one (``d--12`` → ``d--0000-0000-0000-0012``)."""
        return None

    # Reading -------------------------------------------------------------------------------------------------------

    def visible(self, user) -> models.QuerySet:
        # Indexed models are scoped: their ``objects`` is a ScopedQuerySet manager (core/scoping.py).
        return self.model.objects.restrict(user, "view")  # type: ignore[attr-defined]

    def with_columns(self, queryset: models.QuerySet) -> models.QuerySet:
        """``queryset`` annotated with :data:`COLUMNS` (annotations in one fixed order, so unions line up)."""
        # Declared by every scoped model (core/scoping.py); indexed models are scoped.
        org_path = self.model.scope_org_path  # type: ignore[attr-defined]
        return queryset.annotate(
            hit_kind=Value(self.kind, output_field=TEXT),
            hit_pk=Cast("pk", TEXT),
            hit_slug=Cast(self.slug_expression(), TEXT),
            hit_title=Cast(self.title_expression(), TEXT),
            hit_detail=Cast(self.detail_expression(), TEXT),
            hit_org=F(f"{org_path}__slug") if org_path else F("slug"),
            hit_link_kind=self.link_kind_expression(),
        )

    def url(self, row: dict[str, Any]) -> str | None:
        return object_url(self.kind, row["hit_slug"], org=row["hit_org"])

    def result(self, row: dict[str, Any], score: float) -> SearchResult:
        return SearchResult(
            kind=self.kind,
            slug=row["hit_slug"],
            title=row["hit_title"],
            detail=row["hit_detail"] or "",
            url=self.url(row),
            org=row["hit_org"],
            score=round(float(score), 4),
        )


def canonical_from(text: str, letter: str, parse, emit) -> str | None:
    """The canonical slug when ``text`` is written as a ``<letter>--`` slug, else ``None``."""
    text = text.strip().lower()
    if slugs.slug_kind(text) != letter:
        return None
    try:
        return emit(parse(text))
    except (slugs.SlugError, ValueError):
        return None


# kind -> index; filled by each app's search.py when the apps are ready, fixed afterwards.
registry: dict[str, SearchIndex] = {}


def register_search(cls: type[SearchIndex]) -> type[SearchIndex]:
    for field, weight in cls.fields:
        if weight not in WEIGHTS:
            raise ValueError(f"{cls.__name__}.{field}: weight {weight!r} is not one of {WEIGHTS}")
    if cls.kind in registry and type(registry[cls.kind]) is not cls:
        raise ValueError(f"search kind {cls.kind!r} is registered twice")
    registry[cls.kind] = cls()
    return cls


def autodiscover() -> None:
    """Import ``search.py`` of every installed app that has one."""
    for config in apps.get_app_configs():
        module = f"{config.name}.search"
        if config.name != "server.apps.search" and importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


def indexes() -> list[SearchIndex]:
    return list(registry.values())
