"""Reads on streamers and streamer reports, already scoped to a user."""

from __future__ import annotations

from django.db.models import QuerySet

from server.apps.core.slugs import parse_streamer_slug
from server.apps.streamer.models import Streamer, StreamerReport


def streamer_list(*, user) -> QuerySet[Streamer]:
    return Streamer.objects.restrict(user, "view").select_related("device")


def streamer_lookup(value: str) -> dict:
    """Filter keywords for a ``t--`` slug in any form the clients send (the oversized device group included);
    raises ``SlugError``."""
    device_id, index = parse_streamer_slug(value)
    return {"device_id": device_id, "index": index}


def streamer_report_list(*, user) -> QuerySet[StreamerReport]:
    return StreamerReport.objects.restrict(user, "view").select_related("streamer__device", "created_by")
