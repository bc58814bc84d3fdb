"""Writes on data blocks: archiving a device's data into a block, and deleting a block with its data.

Archiving moves rather than copies: every row of the device's current deployment (data on the streamdata database,
events, notes, locations, properties on the default one) is rewritten from the device's slugs to the block's, in
batches small enough to keep locks short. A stream ``s--<project>--<device>--<var>`` becomes
``s--<project>--<block>-<device>--<var>`` (the project part stays, so the series still says where it was
recorded), and the rows' ``device_slug`` becomes the block's ``b--`` slug. Each batch commits on its own and moves
rows that are still under the old slug, so a crash at any point leaves every row under exactly one slug and a retry
carries on where the last one stopped.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.db import router, transaction
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
from server.apps.stream.models import StreamId
from server.apps.stream.services import streams_delete
from server.apps.streamalias.services import alias_taps_move
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.services import stream_data_delete
from server.apps.streamevent.models import StreamEventData
from server.apps.worker.queue import enqueue_on_commit

ARCHIVE_BATCH_SIZE = 5000
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
    """Per stream of the device's deployment (by slug): the stream and the block's copy of it, made if missing."""
    pairs = {}
    project_id = device.project_id
    assert project_id is not None, "only a claimed device's deployment is archived"
    for stream in StreamId.objects.filter(device=device, project_id=project_id, block__isnull=True):
        archived = copy.copy(stream)
        archived.pk = None
        archived._state.adding = True
        archived.slug = _block_stream_slug(stream.slug, block)
        archived.block = block
        pairs[stream.slug] = (stream, archived)
    archived_slugs = [archived.slug for _, archived in pairs.values()]
    existing = {s.slug: s for s in StreamId.objects.filter(slug__in=archived_slugs)}
    StreamId.objects.bulk_create([archived for _, archived in pairs.values() if archived.slug not in existing])
    return {slug: (stream, existing.get(archived.slug, archived)) for slug, (stream, archived) in pairs.items()}


def _block_stream_slug(device_stream_slug: str, block: DataBlock) -> str:
    parts = parse_stream_slug(device_stream_slug)
    return stream_slug(parts.project, parts.device_id, parts.variable, block=block.block)


def _move_batch(model, *, old_slug: str, new_slug: str, block: DataBlock, batch_size: int) -> int:
    """Move up to ``batch_size`` rows of one stream to the block's stream; returns how many moved. One UPDATE: it
    commits on its own, so each batch's rows are under exactly one of the two slugs whatever happens next."""
    batch = model.objects.filter(stream_slug=old_slug).order_by().values("pk")[:batch_size]
    return model.objects.filter(pk__in=batch).update(stream_slug=new_slug, device_slug=block.slug)


class _Progress:
    """Records on the block how much of the data has moved (one UPDATE per batch)."""

    def __init__(self, block: DataBlock, done: int, total: int) -> None:
        self.block, self.done, self.total = block, done, max(total, 1)

    def add(self, moved: int) -> None:
        self.done += moved
        # 100 only once everything else (metadata, the device reset) is done too.
        percent = min(99, self.done * 100 // self.total)
        if percent != self.block.progress:
            self.block.progress = percent
            DataBlock.objects.filter(pk=self.block.pk).update(progress=percent)


def _move_rows(model, *, slugs: dict[str, str], block: DataBlock, progress: _Progress, batch_size: int) -> None:
    for old_slug, new_slug in slugs.items():
        moved = batch_size
        while moved == batch_size:  # a short batch was the last one
            moved = _move_batch(model, old_slug=old_slug, new_slug=new_slug, block=block, batch_size=batch_size)
            progress.add(moved)


def _source_slugs(*, device: Device, block: DataBlock, stream_slugs: Iterable[str]) -> dict[str, str]:
    """Every stream of the deployment that has rows: those with a ``StreamId`` and the system streams without."""
    assert device.project is not None, "only a claimed device's deployment is archived"
    project_slug = device.project.slug
    with_rows = StreamData.objects.filter(device_slug=device.slug, project_slug=project_slug)
    found = set(stream_slugs) | set(with_rows.order_by().values_list("stream_slug", flat=True).distinct())
    found |= set(
        StreamEventData.objects.filter(device_slug=device.slug, project_slug=project_slug)
        .order_by()
        .values_list("stream_slug", flat=True)
        .distinct()
    )
    return {slug: _block_stream_slug(slug, block) for slug in sorted(found)}


def datablock_archive(*, block: DataBlock, batch_size: int | None = None) -> DataBlock:
    """Move the device's data into ``block``, then reset the device for a new deployment (the ``ArchiveDevice``
    action). Idempotent: a block already completed is left alone, and a retry after a crash carries on."""
    if block.status == ArchiveStatus.COMPLETED:
        return block
    batch_size = batch_size or ARCHIVE_BATCH_SIZE
    device = Device.objects.select_related("project", "sg").get(pk=block.device_id)
    if device.project_id is None:
        raise ApplicationError(f"Device {device.slug} is no longer claimed; block {block.slug} cannot be archived.")
    block.status = ArchiveStatus.ARCHIVING
    block.save(update_fields=["status"])

    pairs = _block_streams(block=block, device=device)
    slugs = _source_slugs(device=device, block=block, stream_slugs=pairs)
    remaining = StreamData.objects.filter(stream_slug__in=list(slugs)).count()
    remaining += StreamEventData.objects.filter(stream_slug__in=list(slugs)).count()
    done = StreamData.objects.filter(device_slug=block.slug).count()
    done += StreamEventData.objects.filter(device_slug=block.slug).count()
    progress = _Progress(block, done, done + remaining)
    _move_rows(StreamData, slugs=slugs, block=block, progress=progress, batch_size=batch_size)
    _move_rows(StreamEventData, slugs=slugs, block=block, progress=progress, batch_size=batch_size)

    with transaction.atomic():
        # Notes, locations and properties on the device and its streams follow them into the block.
        moves = {device.slug: (block.slug, targets.BLOCK)}
        moves.update((old, (new, targets.STREAM)) for old, new in slugs.items())
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
    with transaction.atomic(), transaction.atomic(using=router.db_for_write(StreamData)):
        deleted = streams_delete(streams=streams)
        # Rows of system streams, which have no StreamId.
        leftover = StreamData.objects.filter(device_slug=block.slug).order_by().values_list("stream_slug", flat=True)
        deleted += stream_data_delete(stream_slugs=set(leftover.distinct()))
        StreamEventData.objects.filter(device_slug=block.slug).delete()
        targets.metadata_delete(org_id=block.org_id, target=block.slug)
        block.delete()
    return deleted
