"""What search finds among projects: their name and description as words, their p-- slug whole or in pieces."""

from __future__ import annotations

from django.db.models import CharField, F, Func

from server.apps.core import slugs
from server.apps.project.models import Project
from server.apps.search.registry import SearchIndex, canonical_from, register_search


class ProjectSlug(Func):
    """``p--xxxx-xxxx`` from the gid in SQL, the form ``slugs.project_slug`` gives, so slugs match in the query."""

    template = (
        "'p--' || lpad(to_hex(%(expressions)s >> 16), 4, '0') || '-' || lpad(to_hex(%(expressions)s & 65535), 4, '0')"
    )
    output_field = CharField()


@register_search
class ProjectIndex(SearchIndex):
    model = Project
    kind = "project"
    fields = (("name", "A"), ("about", "C"))
    slug_letter = "p"

    def slug_expression(self):
        return ProjectSlug(F("gid"))

    def title_expression(self):
        return F("name")

    def detail_expression(self):
        return F("about")

    def canonical_slug(self, text: str) -> str | None:
        return canonical_from(text, "p", slugs.parse_project_slug, slugs.project_slug)
