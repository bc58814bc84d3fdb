"""Reads on events and their payloads, scoped to a user."""

from __future__ import annotations

import gzip
import json
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from server.apps.core.errors import NotFoundError
from server.apps.stores.backends import StoreFileNotFoundError
from server.apps.stores.selectors import store_file_read
from server.apps.stream.models import StreamId
from server.apps.streamdata.selectors.data_filter import streams_for_data_filter
from server.apps.streamevent.models import StreamEventData

EVENT_STORE = "events"
EVENT_ORDERING = ("timestamp", "id")


def with_stream_slugs(events: QuerySet[StreamEventData]) -> QuerySet[StreamEventData]:
    """``events`` each with ``stream_slug``: the slug of the stream holding its series (a correlated lookup on the
    unique ``StreamId.series`` index, in the same query)."""
    slug = StreamId.objects.filter(series=OuterRef("series")).values("slug")[:1]
    return events.annotate(stream_slug=Subquery(slug))


def event_list(*, user) -> QuerySet[StreamEventData]:
    """The events ``user`` may see, with their streams' slugs."""
    return with_stream_slugs(StreamEventData.objects.restrict(user, "view"))


def events_for_filter(*, user, value: str | None) -> QuerySet[StreamEventData]:
    """The events of the streams a ``?filter=`` names (``s--`` one stream, ``d--`` the device's, ``v--`` the
    variable's), oldest first. The same rules as stream data: 400 without a filter, 404 out of scope, 403 without
    ``can_read_stream_data``."""
    streams = streams_for_data_filter(user=user, value=value)
    return event_list(user=user).filter(series__in=[s.series for s in streams]).order_by(*EVENT_ORDERING)


def event_payload(*, event: StreamEventData) -> tuple[Any, str]:
    """The event's payload from the events store: ``(decoded JSON, "json")`` for ``.json`` and ``.json.gz``
    payloads, else ``(bytes, content type)``. NotFoundError when the event has none."""
    if not event.data_key:
        raise NotFoundError("This event has no data.")
    try:
        content = store_file_read(store=EVENT_STORE, key=event.data_key)
    except StoreFileNotFoundError:
        raise NotFoundError("This event's data is missing from the store.") from None
    if event.data_key.endswith(".json.gz"):
        content = gzip.decompress(content)
        return json.loads(content), "json"
    if event.data_key.endswith(".json"):
        return json.loads(content), "json"
    if event.data_key.endswith(".csv"):
        return content, "text/csv"
    return content, "application/octet-stream"
