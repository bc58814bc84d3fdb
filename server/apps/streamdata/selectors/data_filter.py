"""The one place a ``?filter=`` slug becomes rows (``data/``, ``df/``, and ``event/`` for its streams).

``s--``, ``d--``, ``v--`` and ``b--`` name streams whose rows are read whole; ``a--`` (an alias) names time ranges of
streams, one per tap (``streamalias.selectors``). Out of scope is a 404, visible without ``can_read_stream_data`` a
403, a missing or malformed filter a 400.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from server.apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from server.apps.core.lookups import device_id_from
from server.apps.core.scoping import permission_for, user_can, user_has_org_permission
from server.apps.core.slugs import SlugError, slug_kind
from server.apps.datablock.selectors import datablock_list, datablock_lookup
from server.apps.device.selectors import device_list
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import (
    stream_for_data,
    stream_list_for_data,
    stream_lookup,
    variable_list,
    variable_lookup,
)
from server.apps.streamalias.selectors import alias_data_rows, alias_list, alias_lookup, alias_tap_ranges
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.selectors.rows import DATA_ORDERING, stream_data_for_series

FILTER_KINDS = {"s": "stream", "d": "device", "v": "variable", "b": "data block"}
FILTER_HELP = "a stream (s--), device (d--), variable (v--), data block (b--) or stream alias (a--) slug"


@dataclass(frozen=True)
class DataSelection:
    """The streams a ``?filter=`` names, by series id (for their slugs and output units), and the rows it reads of
    them: an alias's ``alias_rows`` (time ranges of its streams), or else the streams' whole rows."""

    streams: dict[int, StreamId]
    alias_rows: QuerySet[StreamData] | None = None

    @property
    def rows(self) -> QuerySet[StreamData]:
        """The rows, in time order. Built when asked: a page of whole streams reads them its own way."""
        if self.alias_rows is not None:
            return self.alias_rows
        return stream_data_for_series(series=list(self.streams))


READ_DATA_DENIED = "You may not read stream data in this organisation."


def _check_read_data(user, org) -> None:
    if not user_has_org_permission(user, org, permission_for(StreamId, "read_data")):
        raise PermissionDeniedError(READ_DATA_DENIED)


def streams_for_data_filter(*, user, value: str | None) -> list[StreamId]:
    """The streams whose data ``?filter=`` asks for: ``s--`` one stream, ``d--`` the device's streams in its
    project, ``v--`` the variable's streams across the project's devices, ``b--`` the streams archived in a block.

    Out of scope is a 404; visible but without ``can_read_stream_data`` a 403; a missing or unknown filter a 400.
    """
    if not value:
        raise ApplicationError(f"A ?filter= is required: {FILTER_HELP}.")
    kind = slug_kind(value)
    if kind not in FILTER_KINDS:
        raise ApplicationError(f"'{value}' is not {FILTER_HELP}.")
    try:
        if kind == "b":
            block = datablock_list(user=user).filter(**datablock_lookup(value)).first()
            if block is None:
                raise NotFoundError("Data block not found.")
            _check_read_data(user, block.org)
            return list(stream_list_for_data(user=user).filter(block=block))
        if kind == "s":
            stream = stream_for_data(user=user, **stream_lookup(value))
            if stream is None:
                raise NotFoundError("Stream not found.")
            if not user_can(user, stream, "read_data"):  # read with the stream
                raise PermissionDeniedError(READ_DATA_DENIED)
            return [stream]
        if kind == "d":
            device = device_list(user=user).filter(id=device_id_from(value)).first()
            if device is None:
                raise NotFoundError("Device not found.")
            _check_read_data(user, device.org)
            streams = stream_list_for_data(user=user).filter(device=device, block__isnull=True)
            # The streams of the device's project; an unclaimed device's are those of no project.
            if device.project_id is None:
                return list(streams.filter(project_id__isnull=True))
            return list(streams.filter(project_id=device.project_id))
        variable = variable_list(user=user).filter(**variable_lookup(value)).first()
        if variable is None:
            raise NotFoundError("Variable not found.")
        _check_read_data(user, variable.org)
        return list(stream_list_for_data(user=user).filter(variable=variable, block__isnull=True))
    except SlugError as exc:
        raise ApplicationError(str(exc), {"filter": [str(exc)]}) from exc


def _alias_data(*, user, value: str) -> DataSelection:
    try:
        alias = alias_list(user=user).filter(**alias_lookup(value)).first()
    except SlugError as exc:
        raise ApplicationError(str(exc), {"filter": [str(exc)]}) from exc
    if alias is None:
        raise NotFoundError("Stream alias not found.")
    _check_read_data(user, alias.org)
    ranges = alias_tap_ranges(alias=alias)
    if not ranges:
        return DataSelection(streams={}, alias_rows=StreamData.objects.none())
    rows = alias_data_rows(ranges=ranges).order_by(*DATA_ORDERING)
    return DataSelection(streams={tap.stream.series: tap.stream for tap in ranges}, alias_rows=rows)


def stream_data_for_filter(*, user, value: str | None) -> DataSelection:
    """The rows ``data/?filter=`` reads, in time order. Out of scope is a 404; visible without
    ``can_read_stream_data`` a 403; a missing or malformed filter a 400."""
    if value and slug_kind(value) == "a":
        return _alias_data(user=user, value=value)
    return DataSelection(streams={stream.series: stream for stream in streams_for_data_filter(user=user, value=value)})
