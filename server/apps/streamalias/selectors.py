"""Reads on stream aliases and their taps, already scoped to a user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from server.apps.core.errors import ApplicationError
from server.apps.core.slugs import SlugError, alias_slug, parse_alias_slug
from server.apps.stream.models import StreamId
from server.apps.streamalias.models import StreamAlias, StreamAliasTap


def alias_list(*, user, action: str = "view") -> QuerySet[StreamAlias]:
    return StreamAlias.objects.restrict(user, action).select_related("org", "created_by")


def alias_lookup(value: str | int) -> dict:
    """Filter keywords for an ``a--`` slug in any lenient form; raises ``SlugError``."""
    return {"slug": alias_slug(parse_alias_slug(value))}


def visible_alias(*, user, value: str, field: str = "alias") -> StreamAlias:
    """An alias named by a body field: malformed, unknown and out of scope are the same 400, revealing nothing."""
    try:
        lookup = alias_lookup(value)
    except SlugError as exc:
        raise ApplicationError(str(exc), {field: [str(exc)]}) from exc
    alias = alias_list(user=user).filter(**lookup).first()
    if alias is None:
        raise ApplicationError(f"Unknown stream alias '{value}'.", {field: [f"Unknown alias: {value}."]})
    return alias


def tap_list(*, user) -> QuerySet[StreamAliasTap]:
    return StreamAliasTap.objects.restrict(user, "view").select_related("alias", "stream", "created_by")


@dataclass(frozen=True)
class TapRange:
    """What an alias reads from one tap: ``stream``'s rows with ``start <= timestamp < end`` (``end`` None: on)."""

    stream: StreamId
    start: datetime
    end: datetime | None


def alias_tap_ranges(*, alias: StreamAlias) -> list[TapRange]:
    """The alias's taps as consecutive time ranges, oldest first. One query."""
    taps = list(
        StreamAliasTap.objects.filter(alias=alias).select_related("stream", "stream__output_unit").order_by("timestamp")
    )
    return [
        TapRange(stream=tap.stream, start=tap.timestamp, end=taps[i + 1].timestamp if i + 1 < len(taps) else None)
        for i, tap in enumerate(taps)
    ]
