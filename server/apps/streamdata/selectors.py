"""Reads on stream data, scoped through the streams a user may see.

Rows name their stream by slug. The slugs come from a scoped ``StreamId`` query on the default database; the data
query then uses only ``(stream_slug, timestamp)`` on the streamdata database. Nothing joins across the two.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from server.apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from server.apps.core.lookups import device_id_from
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.slugs import SlugError, slug_kind
from server.apps.device.selectors import device_list
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_list, stream_lookup, variable_list, variable_lookup
from server.apps.streamdata.filtersets import DATA_ORDERING
from server.apps.streamdata.models import StreamData

FILTER_KINDS = {"s": "stream", "d": "device", "v": "variable"}


def stream_data_for_streams(*, stream_slugs: Iterable[str]) -> QuerySet[StreamData]:
    return StreamData.objects.filter(stream_slug__in=list(stream_slugs)).order_by(*DATA_ORDERING)


def _check_read_data(user, org) -> None:
    if not user_has_org_permission(user, org, permission_for(StreamId, "read_data")):
        raise PermissionDeniedError("You may not read stream data in this organisation.")


def streams_for_data_filter(*, user, value: str | None) -> list[StreamId]:
    """The streams whose data ``?filter=`` asks for: ``s--`` one stream, ``d--`` the device's streams in its
    project, ``v--`` the variable's streams across the project's devices.

    Out of scope is a 404; visible but without ``can_read_stream_data`` a 403; a missing or unknown filter a 400.
    """
    if not value:
        raise ApplicationError("A ?filter= is required: a stream (s--), device (d--) or variable (v--) slug.")
    kind = slug_kind(value)
    if kind in ("a", "b"):
        raise ApplicationError(f"Filtering data by '{kind}--' slugs is not supported yet.")
    if kind not in FILTER_KINDS:
        raise ApplicationError(f"'{value}' is not a stream (s--), device (d--) or variable (v--) slug.")
    try:
        if kind == "s":
            stream = stream_list(user=user).filter(**stream_lookup(value)).first()
            if stream is None:
                raise NotFoundError("Stream not found.")
            _check_read_data(user, stream.org)
            return [stream]
        if kind == "d":
            device = device_list(user=user).filter(id=device_id_from(value)).first()
            if device is None:
                raise NotFoundError("Device not found.")
            _check_read_data(user, device.org)
            streams = stream_list(user=user).filter(device=device, project_id=device.project_id, block__isnull=True)
            return list(streams)
        variable = variable_list(user=user).filter(**variable_lookup(value)).first()
        if variable is None:
            raise NotFoundError("Variable not found.")
        _check_read_data(user, variable.org)
        return list(stream_list(user=user).filter(variable=variable, block__isnull=True))
    except SlugError as exc:
        raise ApplicationError(str(exc), {"filter": [str(exc)]}) from exc
