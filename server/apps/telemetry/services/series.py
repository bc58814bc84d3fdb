"""A logical device's series are stream aliases (docs/aliases.md), one per key: a mapping from a physical device
is a tap on each of them at its start (to the physical device's stream of that key), a gap tap (no stream) at its
end or pause, and taps back at a resume. Nothing here checks the user: the mapping services do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import Max

from server.apps.stream.models import StreamId, StreamVariable
from server.apps.stream.services import device_streams_ensure
from server.apps.streamalias.models import StreamAliasTap
from server.apps.streamalias.services import alias_create, alias_tap_create
from server.apps.telemetry.models import DeviceMapping, LogicalDevice, LogicalSeries


def mapping_active_since(mapping: DeviceMapping) -> datetime:
    """When the mapping last started feeding (its start, or its latest resume)."""
    moments = [
        datetime.fromisoformat(entry["at"]) for entry in mapping.history if entry.get("action") in ("start", "resume")
    ]
    return max([mapping.start, *moments])


def physical_streams(*, device: Any, keys: Iterable[str]) -> dict[str, StreamId]:
    """The device's live streams of these keys (its project's variables of those names), made when missing; a key
    the project has no variable for yet gets none here (the device has never sent it)."""
    keys = set(keys)
    if not keys or device.project_id is None:
        return {}

    def read() -> dict[str, StreamId]:
        rows = StreamId.objects.filter(device=device, block__isnull=True, variable__name__in=keys)
        return {stream.variable.name: stream for stream in rows.select_related("variable")}  # type: ignore[union-attr]

    streams = read()
    if keys - streams.keys():
        lids = StreamVariable.objects.filter(project_id=device.project_id, name__in=keys - streams.keys())
        if device_streams_ensure(device=device, lids=list(lids.values_list("lid", flat=True))):
            streams = read()
    return streams


def series_latest_tap(*, logical_device: LogicalDevice) -> datetime | None:
    return StreamAliasTap.objects.filter(alias__logical_series__logical_device=logical_device).aggregate(
        latest=Max("timestamp")
    )["latest"]


def _new_series(*, logical_device: LogicalDevice, name: str, user: Any) -> LogicalSeries:
    alias = alias_create(user=user, org=logical_device.org, name=f"{logical_device.name}: {name}"[:100])
    return LogicalSeries.objects.create(logical_device=logical_device, name=name, alias=alias)


def logical_series_tap(*, mapping: DeviceMapping, at: datetime, feeding: bool, user: Any) -> None:
    """At ``at``, every series of the mapping's logical device reads the physical device's stream of its key
    (``feeding``), or nothing (a gap); starting to feed also makes a series for each key the physical device has
    sent that the logical device lacks."""
    logical_device = mapping.logical_device
    device = mapping.physical_device.device
    series = {item.name: item for item in logical_device.series.select_related("alias")}
    streams: Mapping[str, StreamId] = {}
    if feeding:
        own = set(
            StreamId.objects.filter(device=device, block__isnull=True, variable__isnull=False).values_list(
                "variable__name", flat=True
            )
        )
        streams = physical_streams(device=device, keys=set(series) | own)
        for name in sorted(streams.keys() - series.keys()):
            series[name] = _new_series(logical_device=logical_device, name=name, user=user)
    for name, item in sorted(series.items()):
        stream = streams.get(name) if feeding else None
        alias_tap_create(user=user, alias=item.alias, stream=stream, timestamp=at)


def logical_series_extend(*, wanted: Mapping[DeviceMapping, set[str]], streams: Mapping[tuple[int, str], Any]) -> None:
    """Routed values of keys a logical device has no series for yet: the series, reading the physical stream since
    the mapping last started feeding. One query when there is nothing to make."""
    by_logical = {mapping.logical_device_id: (mapping, keys) for mapping, keys in wanted.items()}
    have = set(
        LogicalSeries.objects.filter(logical_device_id__in=list(by_logical)).values_list("logical_device_id", "name")
    )
    missing = {
        logical_id: sorted(key for key in keys if (logical_id, key) not in have)
        for logical_id, (_, keys) in by_logical.items()
    }
    missing = {logical_id: keys for logical_id, keys in missing.items() if keys}
    if not missing:
        return
    logical_devices = LogicalDevice.objects.select_related("org").in_bulk(list(missing))
    for logical_id, keys in missing.items():
        mapping = by_logical[logical_id][0]
        mapping.history = DeviceMapping.objects.values_list("history", flat=True).get(pk=mapping.pk)
        since = mapping_active_since(mapping)
        for key in keys:
            item = _new_series(logical_device=logical_devices[logical_id], name=key, user=None)
            stream = streams[(mapping.physical_device_id, key)]
            alias_tap_create(user=None, alias=item.alias, stream=stream, timestamp=since)
