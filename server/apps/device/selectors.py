"""Reads on devices, already scoped to a user."""

from __future__ import annotations

from django.db.models import Count, OuterRef, QuerySet, Subquery

from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.core.lookups import device_id_from, project_lookup
from server.apps.core.slugs import SlugError
from server.apps.device.models import Device
from server.apps.project.models import Project
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData
from server.apps.streamer.models import StreamerReport
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


def visible_device(*, user, value: str | int, field: str = "device") -> Device:
    """A device named by a body field: malformed, unknown and out of scope are the same 400, revealing nothing."""
    device = device_get(user=user, value=value)
    if device is None:
        raise ApplicationError(f"Unknown device '{value}'.", {field: [f"Unknown device: {value}."]})
    return device


def device_stream_counts(*, device: Device) -> dict[str, dict]:
    """Per stream of the device's current project: how many data rows and events its series holds, and
    ``has_streamid`` (always true: rows and events belong to streams through their series ids, and the clients read
    the flag). Three queries whatever the number of streams: the streams, one grouped count of data rows (streamdata
    database) and one of events."""
    counts: dict[str, dict] = {}
    if device.project is None:
        return counts
    streams = StreamId.objects.filter(device=device, project=device.project, block__isnull=True)
    slugs = dict(streams.values_list("series", "slug"))
    for slug in slugs.values():
        counts[slug] = {"data_cnt": 0, "event_cnt": 0, "has_streamid": True}
    grouped = StreamData.objects.filter(series__in=list(slugs)).order_by().values("series").annotate(rows=Count("id"))
    for row in grouped:
        counts[slugs[row["series"]]]["data_cnt"] = row["rows"]
    grouped_events = (
        StreamEventData.objects.filter(series__in=list(slugs)).order_by().values("series").annotate(rows=Count("id"))
    )
    for row in grouped_events:
        counts[slugs[row["series"]]]["event_cnt"] = row["rows"]
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


def with_last_report(devices: QuerySet[Device]) -> QuerySet[Device]:
    """``devices`` with ``last_report``: when their latest streamer report was received (None before the first).
    A correlated subquery on the reports' (streamer, created_on) index, so a page of devices stays one query."""
    latest = (
        StreamerReport.objects.filter(streamer__device_id=OuterRef("pk"))
        .order_by("-created_on")
        .values("sent_timestamp")[:1]
    )
    return devices.annotate(last_report=Subquery(latest))


def device_list_for_project(*, user, project: Project) -> QuerySet[Device]:
    """The devices claimed into a visible project, by label then slug, each with its ``last_report``."""
    devices = Device.objects.restrict(user, "view").filter(project=project).select_related("sg")
    return with_last_report(devices).order_by("label", "id")


# The latest row of each stream, found with one index probe per stream on (series, timestamp) however long the
# streams are: DISTINCT ON over the same streams would read every one of their rows.
_LATEST_ROWS_SQL = """
SELECT latest.* FROM unnest(%s::integer[]) AS wanted(series)
CROSS JOIN LATERAL (
    SELECT * FROM {table} AS data
    WHERE data.series = wanted.series AND data.timestamp IS NOT NULL
    ORDER BY data.timestamp DESC
    LIMIT 1
) AS latest
"""


def stream_latest_data(*, streams: list[StreamId]) -> dict[str, StreamData]:
    """The newest data row of each stream, by stream slug (streams without data are left out). One query on the
    streamdata database. The caller has checked the user may read these streams' data."""
    if not streams:
        return {}
    slugs = {stream.series: stream.slug for stream in streams}
    sql = _LATEST_ROWS_SQL.format(table=StreamData._meta.db_table)
    return {slugs[row.series]: row for row in StreamData.objects.raw(sql, [list(slugs)])}
