"""Reads on data blocks, already scoped to a user."""

from __future__ import annotations

from django.db.models import QuerySet

from server.apps.core.slugs import block_slug, parse_block_slug
from server.apps.datablock.models import DataBlock


def datablock_list(*, user) -> QuerySet[DataBlock]:
    return DataBlock.objects.restrict(user, "view").select_related("org", "device", "sg", "created_by")


def datablock_lookup(value: str) -> dict:
    """Filter keywords for a ``b--`` slug (or the clients' four-group ``d--`` form); raises ``SlugError``."""
    return {"slug": block_slug(*parse_block_slug(value))}
