"""What search finds among data blocks: their title and description as words, their b-- slug whole or in pieces."""

from __future__ import annotations

from django.db.models import F

from server.apps.core import slugs
from server.apps.datablock.models import DataBlock
from server.apps.search.registry import SearchIndex, canonical_from, register_search


def _block_slug(text: str) -> str:
    return slugs.block_slug(*slugs.parse_block_slug(text))


@register_search
class DataBlockIndex(SearchIndex):
    model = DataBlock
    kind = "datablock"
    fields = (("title", "A"), ("description", "C"))
    slug_letter = "b"

    def title_expression(self):
        return F("title")

    def detail_expression(self):
        return F("description")

    def canonical_slug(self, text: str) -> str | None:
        return canonical_from(text, "b", lambda value: value, _block_slug)
