"""Reads on devices, already scoped to a user."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.core.lookups import device_id_from, project_lookup
from server.apps.core.slugs import SlugError
from server.apps.device.models import Device
from server.apps.project.models import Project
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData
from server.apps.streamevent.models import StreamEventData


def device_list(*, user) -> QuerySet[Device]:
    """The devices ``user`` may see, with everything the API shows fetched in the same query."""
    return Device.objects.restrict(user, "view").select_related("org", "project", "template", "sg", "claimed_by")


def device_lookup(value: str | int) -> dict:
    """Filter keywords for a device named by any slug form or its integer id; raises ``SlugError``."""
    return {"id": device_id_from(value)}


def device_get(*, user, value: str | int) -> Device | None:
    try:
        lookup = device_lookup(value)
    except SlugError:
        return None
    return device_list(user=user).filter(**lookup).first()


def device_stream_counts(*, device: Device) -> dict[str, dict]:
    """Per stream of the device's current project: how many data rows and events it holds, and whether a
    ``StreamId`` exists for it. Three queries whatever the number of streams: the stream ids, one grouped count of
    data rows (streamdata database) and one of events."""
    counts: dict[str, dict] = {}
    if device.project_id is None:
        return counts
    project_slug = device.project.slug
    stream_slugs = StreamId.objects.filter(device=device, project_id=device.project_id, block__isnull=True)
    for slug in stream_slugs.values_list("slug", flat=True):
        counts[slug] = {"data_cnt": 0, "event_cnt": 0, "has_streamid": True}
    grouped = (
        StreamData.objects.filter(device_slug=device.slug, project_slug=project_slug)
        .order_by()
        .values("stream_slug")
        .annotate(rows=Count("id"))
    )
    for row in grouped:
        entry = counts.setdefault(row["stream_slug"], {"data_cnt": 0, "event_cnt": 0, "has_streamid": False})
        entry["data_cnt"] = row["rows"]
    grouped_events = (
        StreamEventData.objects.filter(device_slug=device.slug, project_slug=project_slug)
        .order_by()
        .values("stream_slug")
        .annotate(rows=Count("id"))
    )
    for row in grouped_events:
        entry = counts.setdefault(row["stream_slug"], {"data_cnt": 0, "event_cnt": 0, "has_streamid": False})
        entry["event_cnt"] = row["rows"]
    return counts


def visible_project(*, user, value: str):
    """The project named by a UUID or ``p--`` slug among those ``user`` can see; 400 when malformed, else 404."""
    try:
        lookup = project_lookup(value)
    except SlugError as exc:
        raise ApplicationError(str(exc), {"project": [str(exc)]}) from exc
    project = Project.objects.restrict(user, "view").select_related("org").filter(**lookup).first()
    if project is None:
        raise NotFoundError("Project not found.", {"project": ["Unknown project."]})
    return project
