"""Writes on data blocks: archiving a device's data into a block, and deleting a block with its data.

Archiving changes metadata, never data rows: in one transaction, each stream of the device's deployment gets a copy
in the block (``s--<project>--<device>--<var>`` becomes ``s--<project>--<block>-<device>--<var>``; the project part
stays, so the series still says where it was recorded) that takes over the stream's series id, so every data row and
event of it now belongs to the block's stream, and the device's stream starts a new, empty series. Notes, locations
and properties are moved. A crash leaves either everything before or everything after.
"""

from __future__ import annotations

import copy
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from server.apps.core import targets
from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.services import model_update
from server.apps.core.slugs import block_slug, parse_stream_slug, stream_slug
from server.apps.datablock.models import ArchiveStatus, DataBlock
from server.apps.device.models import Device, DeviceState
from server.apps.device.services import device_reset_after_archive
from server.apps.stream.models import StreamId, next_series
from server.apps.stream.services import streams_delete
from server.apps.streamalias.services import alias_taps_move
from server.apps.streamevent.models import StreamEventData
from server.apps.worker.queue import enqueue_on_commit

DATABLOCK_FIELDS = ("title", "description")
ON_COMPLETE_STATES = (DeviceState.ACTIVE, DeviceState.INACTIVE)


def _clean_on_complete(on_complete: Any) -> dict:
    if on_complete in (None, ""):
        return {}
    if not isinstance(on_complete, dict) or set(on_complete) - {"state", "label"}:
        raise ApplicationError(
            "on_complete is an object with an optional 'state' (N0 or N1) and 'label'.",
            {"on_complete": ["Expected {state?, label?}."]},
        )
    if "state" in on_complete and on_complete["state"] not in ON_COMPLETE_STATES:
        raise ApplicationError("on_complete.state is N0 or N1.", {"on_complete": ["state must be N0 or N1."]})
    if "label" in on_complete and (not isinstance(on_complete["label"], str) or len(on_complete["label"]) > 100):
        raise ApplicationError("on_complete.label is text of at most 100 characters.", {"on_complete": ["label"]})
    return dict(on_complete)


@transaction.atomic(durable=True)
def datablock_create(
    *, user, device: Device, title: str, description: str = "", on_complete: dict | None = None
) -> DataBlock:
    """Start archiving ``device`` (visible to ``user``) into a new block: the device turns busy (B1) and the
    ``ArchiveDevice`` action is queued after the commit. Needs ``can_create_datablock`` in the device's org."""
    if not user_has_org_permission(user, device.org, permission_for(DataBlock, "add")):
        raise PermissionDeniedError("You may not archive devices in this organisation.")
    on_complete = _clean_on_complete(on_complete)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.project_id is None:
        raise ApplicationError("Only a claimed device can be archived.", {"device": ["The device is not claimed."]})
    if device.busy:
        raise ConflictError(f"Device {device.slug} is busy; try again when it has finished.")
    number = (DataBlock.objects.filter(device=device).aggregate(last=Max("block"))["last"] or 0) + 1
    block = DataBlock(
        slug=block_slug(device.id, number),
        title=title,
        description=description,
        org=device.org,
        device=device,
        block=number,
        created_by=user,
        on_complete=on_complete,
    )
    block.full_clean()
    block.save()
    device.state = DeviceState.ARCHIVING
    device.save(update_fields=["state"])
    enqueue_on_commit("ArchiveDevice", {"block_id": block.pk})
    return block


@transaction.atomic(durable=True)
def datablock_update(*, block: DataBlock, **fields: Any) -> DataBlock:
    # Only these columns: the archive worker writes the block's status and progress meanwhile.
    return model_update(block, fields=DATABLOCK_FIELDS, data=fields, save_fields=DATABLOCK_FIELDS)


# Archiving --------------------------------------------------------------------------------------------------------


def _block_streams(*, block: DataBlock, device: Device) -> dict[str, tuple[StreamId, StreamId]]:
    """Per stream of the device's deployment (by slug): the stream and the block's copy of it, which takes over the
    stream's series (and so its rows) while the device's stream gets a new one. Three queries."""
    project_id = device.project_id
    assert project_id is not None, "only a claimed device's deployment is archived"
    streams = list(
        StreamId.objects.select_for_update().filter(device=device, project_id=project_id, block__isnull=True)
    )
    pairs = {}
    for stream in streams:
        archived = copy.copy(stream)
        archived.pk = None
        archived._state.adding = True
        archived.slug = _block_stream_slug(stream.slug, block)
        archived.block = block
        pairs[stream.slug] = (stream, archived)
    # The series column is unique: the device's streams let go of theirs before the copies take them.
    StreamId.objects.filter(pk__in=[stream.pk for stream in streams]).update(series=next_series())
    StreamId.objects.bulk_create([archived for _, archived in pairs.values()])
    return pairs


def _block_stream_slug(device_stream_slug: str, block: DataBlock) -> str:
    parts = parse_stream_slug(device_stream_slug)
    return stream_slug(parts.project, parts.device_id, parts.variable, block=block.block)


@transaction.atomic
def datablock_archive(*, block: DataBlock) -> DataBlock:
    """Archive the device's deployment into ``block`` and reset the device for a new one (the ``ArchiveDevice``
    action), in one transaction on the default database: no data row is touched (see the module's docstring). A
    block already completed is left alone."""
    block.status = DataBlock.objects.select_for_update().filter(pk=block.pk).values_list("status", flat=True).get()
    if block.status == ArchiveStatus.COMPLETED:
        return block
    device = Device.objects.select_related("project", "sg").get(pk=block.device_id)
    if device.project_id is None:
        raise ApplicationError(f"Device {device.slug} is no longer claimed; block {block.slug} cannot be archived.")
    pairs = _block_streams(block=block, device=device)
    # Notes, locations and properties on the device and its streams follow them into the block.
    moves = {device.slug: (block.slug, targets.BLOCK)}
    moves.update((slug, (archived.slug, targets.STREAM)) for slug, (_, archived) in pairs.items())
    targets.metadata_retarget(org_id=block.org_id, moves=moves)
    alias_taps_move(streams={stream.pk: archived.pk for stream, archived in pairs.values()})
    block.sg = device.sg
    block.completed_on = timezone.now()
    block.status = ArchiveStatus.COMPLETED
    block.progress = 100
    block.save(update_fields=["sg", "completed_on", "status", "progress"])
    device_reset_after_archive(
        device=device, state=block.on_complete.get("state"), label=block.on_complete.get("label")
    )
    return block


# Deleting ---------------------------------------------------------------------------------------------------------


def datablock_delete(*, block: DataBlock) -> int:
    """Delete a completed block with its streams, data rows, events and metadata; returns the data rows deleted.
    A block still being archived cannot be deleted (its worker would carry on moving rows into it)."""
    if block.status != ArchiveStatus.COMPLETED:
        raise ConflictError(f"Block {block.slug} is still being archived; delete it once it has completed.")
    streams = StreamId.objects.filter(block=block)
    with transaction.atomic():
        StreamEventData.objects.filter(series__in=streams.values("series")).delete()
        deleted = streams_delete(streams=streams)
        targets.metadata_delete(org_id=block.org_id, target=block.slug)
        block.delete()
    return deleted
