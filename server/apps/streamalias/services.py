"""Writes on stream aliases and their taps. Writing needs ``can_manage_stream_aliases`` in the alias's org."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Value, When

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.services import model_update
from server.apps.core.slugs import alias_slug
from server.apps.stream.models import StreamId
from server.apps.streamalias.models import StreamAlias, StreamAliasTap


def _check_manage(user, org) -> None:
    """``user`` None is the platform itself (telemetry routing a logical device's new key)."""
    if user is not None and not user_has_org_permission(user, org, permission_for(StreamAlias, "add")):
        raise PermissionDeniedError("You may not manage stream aliases in this organisation.")


def _next_alias_id() -> int:
    # The slug is made from the id, so take the id first rather than saving twice.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [StreamAlias._meta.db_table])
        return cursor.fetchone()[0]


@transaction.atomic
def alias_create(*, user, org, name: str) -> StreamAlias:
    _check_manage(user, org)
    alias_id = _next_alias_id()
    alias = StreamAlias(id=alias_id, slug=alias_slug(alias_id), name=name, org=org, created_by=user)
    alias.full_clean()
    alias.save(force_insert=True)
    return alias


@transaction.atomic(durable=True)
def alias_update(*, alias: StreamAlias, name: str | None = None) -> StreamAlias:
    data = {"name": name} if name is not None else {}
    return model_update(alias, fields=("name",), data=data, save_fields=("name",))


def alias_delete(*, alias: StreamAlias) -> None:
    """Delete the alias and its taps; the streams and their data stay."""
    alias.delete()


def _check_tap(*, alias: StreamAlias, stream: StreamId | None, timestamp: datetime, exclude_pk=None) -> None:
    if stream is not None and stream.org_id != alias.org_id:
        raise ApplicationError(
            "The stream belongs to another organisation than the alias.", {"stream": ["Not in the alias's org."]}
        )
    clash = StreamAliasTap.objects.filter(alias=alias, timestamp=timestamp).exclude(pk=exclude_pk)
    if clash.exists():
        raise ApplicationError(
            "The alias already has a tap at this time.", {"timestamp": ["Another tap starts at this time."]}
        )


def alias_tap_create(*, user, alias: StreamAlias, stream: StreamId | None, timestamp: datetime) -> StreamAliasTap:
    """From ``timestamp`` on (until the next tap), ``alias`` reads ``stream`` (None: nothing, a gap)."""
    _check_manage(user, alias.org)
    _check_tap(alias=alias, stream=stream, timestamp=timestamp)
    tap = StreamAliasTap(alias=alias, stream=stream, timestamp=timestamp, created_by=user)
    try:
        with transaction.atomic():
            tap.save()
    except IntegrityError as exc:  # a concurrent tap at the same instant
        raise ApplicationError("The alias already has a tap at this time.") from exc
    return tap


def alias_tap_update(
    *, tap: StreamAliasTap, stream: StreamId | None = None, timestamp: datetime | None = None
) -> StreamAliasTap:
    tap.stream = stream or tap.stream
    tap.timestamp = timestamp or tap.timestamp
    _check_tap(alias=tap.alias, stream=tap.stream, timestamp=tap.timestamp, exclude_pk=tap.pk)
    try:
        with transaction.atomic():
            tap.save(update_fields=["stream", "timestamp"])
    except IntegrityError as exc:
        raise ApplicationError("The alias already has a tap at this time.") from exc
    return tap


def alias_tap_delete(*, tap: StreamAliasTap) -> None:
    tap.delete()


def alias_taps_move(*, streams: Mapping[Any, Any]) -> int:
    """Taps that read the streams in ``streams`` (old stream id → new stream id) read the new ones instead, as when
    a device's streams are archived into a data block: the aliases keep reading the same rows. One UPDATE."""
    if not streams:
        return 0
    return StreamAliasTap.objects.filter(stream_id__in=list(streams)).update(
        stream_id=Case(*(When(stream_id=old, then=Value(new)) for old, new in streams.items()))
    )
