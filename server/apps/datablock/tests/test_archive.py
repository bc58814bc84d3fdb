"""Archiving a device into a data block through the real queue and worker, reading the block, deleting it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError

from server.apps.core.testing import api_client, assert_query_count
from server.apps.datablock import services
from server.apps.datablock.jobs import ArchiveDevice
from server.apps.datablock.models import ArchiveStatus, DataBlock
from server.apps.datablock.tests.factories import make_deployment
from server.apps.device.models import DeviceState
from server.apps.device.tests.factories import T0, add_data, make_project
from server.apps.devicelocation.models import DeviceLocation
from server.apps.property.models import GenericProperty
from server.apps.stream.models import StreamId
from server.apps.streamalias.tests.factories import make_alias, make_tap
from server.apps.streamdata.models import StreamData
from server.apps.streamer.models import Streamer
from server.apps.streamevent.models import StreamEventData
from server.apps.streamnote.models import StreamNote
from server.apps.worker.actions import RetryPolicy
from server.apps.worker.models import WorkerRun
from server.apps.worker.runner import run_worker

BLOCKS = "/api/v1/datablock/"
DATA = "/api/v1/data/"


@pytest.fixture
def deployment(db):
    return make_deployment()


@pytest.fixture
def owner(deployment):
    return deployment.device.org.created_by


def _archive(client, device, django_capture_on_commit_callbacks, **fields) -> DataBlock:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(BLOCKS, {"device": device.slug, "title": "Trip 1", **fields}, format="json")
    assert response.status_code == 201, response.content
    return DataBlock.objects.get(slug=response.json()["slug"])


def _rows_by_stream() -> dict[str, set[int]]:
    """Every data row's id, under the slug of the stream that holds its series now."""
    slugs = dict(StreamId.objects.values_list("series", "slug"))
    rows: dict[str, set[int]] = {}
    for series, pk in StreamData.objects.values_list("series", "pk"):
        rows.setdefault(slugs[series], set()).add(pk)
    return rows


def _block_slug(slug: str, block: DataBlock) -> str:
    # s--<project>--0000-<device>--<var> → s--<project>--<block>-<device>--<var>
    return f"{slug[:14]}{block.block:04x}{slug[18:]}"


def test_archive_end_to_end_through_the_worker(deployment, owner, django_capture_on_commit_callbacks):
    device = deployment.device
    before = _rows_by_stream()
    assert sum(len(ids) for ids in before.values()) == deployment.rows
    alias = make_alias(device.org)
    make_tap(alias, deployment.level, T0 - timedelta(days=1))
    client = api_client(owner)

    block = _archive(client, device, django_capture_on_commit_callbacks, on_complete={"label": "Trip 2"})
    stats = run_worker(burst=True)
    assert (stats.received, stats.succeeded) == (1, 1)
    assert WorkerRun.objects.get().action == "ArchiveDevice"

    block.refresh_from_db()
    assert (block.status, block.progress, block.sg_id) == (ArchiveStatus.COMPLETED, 100, device.sg_id)
    assert block.completed_on is not None
    # Every row, untouched, now belongs to exactly the block's copy of its stream: the copy holds the series.
    after = _rows_by_stream()
    assert after == {_block_slug(slug, block): ids for slug, ids in before.items()}
    assert StreamData.objects.count() == deployment.rows
    archived_level = StreamId.objects.get(slug=_block_slug(deployment.level.slug, block))
    assert archived_level.series == deployment.level.series
    assert list(StreamEventData.objects.values_list("series", flat=True)) == [archived_level.series] * 2
    # Metadata follows the data; the device keeps a copy of its system properties.
    assert list(StreamNote.objects.order_by("id").values_list("target", "target_kind")) == [
        (block.slug, "block"),
        (_block_slug(deployment.level.slug, block), "stream"),
    ]
    assert DeviceLocation.objects.get().target == block.slug
    properties = GenericProperty.objects.order_by("target", "name").values_list("target", "name")
    assert list(properties) == [(block.slug, "fw"), (block.slug, "site"), (device.slug, "fw")]
    # The block's streams are copies of the device's, in the block.
    archived = StreamId.objects.filter(block=block).order_by("var_lid")
    assert [(s.slug, s.var_name, s.device_id, s.project_id) for s in archived] == [
        (_block_slug(s.slug, block), s.var_name, device.id, device.project_id)
        for s in (deployment.level, deployment.temperature)
    ]
    # The alias still reads the same rows.
    assert client.get(DATA, {"filter": alias.slug}).json()["count"] == 30

    # The device is ready for its next deployment: empty streams, ids still counted from where they were.
    device.refresh_from_db()
    assert (device.state, device.label, device.busy) == (DeviceState.ACTIVE, "Trip 2", False)
    live = StreamId.objects.filter(device=device, block__isnull=True)
    assert sorted(live.values_list("slug", flat=True)) == sorted([deployment.level.slug, deployment.temperature.slug])
    assert Streamer.objects.get(device=device).last_id == 40
    assert client.get(f"/api/v1/device/{device.slug}/extra/").json()["stream_counts"][deployment.level.slug] == {
        "data_cnt": 0,
        "event_cnt": 0,
        "has_streamid": True,
    }
    deployment.level.refresh_from_db()  # its new series
    add_data(deployment.level, 2, start=T0 + timedelta(days=2), first_id=41)
    assert client.get(DATA, {"filter": device.slug}).json()["count"] == 2

    # The device's stream started a new series.
    assert StreamId.objects.get(pk=deployment.level.pk).series not in {s.series for s in archived}
    # Running it again changes nothing.
    ArchiveDevice().execute({"block_id": block.pk})
    assert {slug: ids for slug, ids in _rows_by_stream().items() if slug in after} == after


def test_reading_a_block(deployment, owner, django_capture_on_commit_callbacks):
    device = deployment.device
    client = api_client(owner)
    block = _archive(client, device, django_capture_on_commit_callbacks, description="first trip")
    run_worker(burst=True)
    body = client.get(f"{BLOCKS}{block.slug}/").json()
    for field, value in {
        "id": block.id,
        "slug": block.slug,
        "title": "Trip 1",
        "description": "first trip",
        "device": device.slug,
        "block": 1,
        "org": device.org.slug,
        "status": "completed",
        "progress": 100,
    }.items():
        assert body[field] == value, field
    assert body["created_on"]
    assert body["completed_on"]
    assert "sg" in body

    level = _block_slug(deployment.level.slug, block)
    for value in (block.slug, str(block.id), f"d--{block.slug[3:]}"):
        streams = client.get("/api/v1/stream/", {"block": value, "all": 1}).json()
        assert [row["slug"] for row in streams["results"]] == [level, _block_slug(deployment.temperature.slug, block)]
    # The device's own streams are not the block's.
    assert client.get("/api/v1/stream/", {"device": device.slug}).json()["count"] == 2
    assert client.get("/api/v1/stream/", {"device": block.slug}).json()["count"] == 2

    # The block's data: all its streams, or one of them (rows shaped like any other).
    data = client.get(DATA, {"filter": block.slug, "page_size": 100}).json()
    assert data["count"] == 40
    assert {row["device"] for row in data["results"]} == {block.slug}
    one = client.get(DATA, {"filter": level, "lastn": 5}).json()
    assert [row["int_value"] for row in one["results"]] == [25, 26, 27, 28, 29]
    assert client.get(f"/api/v1/stream/{level}/data/", {"page_size": 1}).json()["count"] == 30
    # Query counts: the account, the block, the read permission, its streams; the page on streamdata.
    with assert_query_count(4), assert_query_count(1, using="streamdata"):
        client.get(DATA, {"filter": block.slug})
    with assert_query_count(3):  # the account, count and page
        client.get("/api/v1/stream/", {"block": block.slug, "all": 1})


def test_a_crash_inside_the_archive_leaves_everything_as_it_was_then_the_retry_archives(
    deployment, owner, django_capture_on_commit_callbacks, monkeypatch
):
    device = deployment.device
    before = _rows_by_stream()
    series = {stream.slug: stream.series for stream in StreamId.objects.all()}
    monkeypatch.setattr(ArchiveDevice, "retry", RetryPolicy(max_attempts=3, backoff=0))
    real_retarget = services.alias_taps_move

    def crash_once(*args, **kwargs):
        monkeypatch.setattr(services, "alias_taps_move", real_retarget)
        raise OperationalError("the connection dropped")

    monkeypatch.setattr(services, "alias_taps_move", crash_once)
    block = _archive(api_client(owner), device, django_capture_on_commit_callbacks)

    stats = run_worker(burst=True, max_messages=1)
    assert (stats.received, stats.retried) == (1, 1)
    block.refresh_from_db()
    device.refresh_from_db()
    assert (block.status, device.state) == (ArchiveStatus.SCHEDULED, DeviceState.ARCHIVING)
    # Nothing happened: no copy, every stream with its series, every row where it was.
    assert {stream.slug: stream.series for stream in StreamId.objects.all()} == series
    assert _rows_by_stream() == before

    stats = run_worker(burst=True)
    assert (stats.received, stats.succeeded) == (1, 1)
    assert list(WorkerRun.objects.order_by("id").values_list("status", flat=True)) == ["retry", "success"]
    assert _rows_by_stream() == {_block_slug(slug, block): ids for slug, ids in before.items()}
    block.refresh_from_db()
    assert (block.status, block.progress) == (ArchiveStatus.COMPLETED, 100)
    assert StreamId.objects.filter(block=block).count() == 2


def test_archive_query_counts(deployment):
    """A fixed number of queries whatever the number of rows, and none on the streamdata database: the block and
    the device, the streams (locked), their new series, the block's copies, properties, notes, locations, alias
    taps, the block, and the device reset with its audit entry (the device read back, the entry; with savepoints,
    as tests run in one transaction)."""
    device = deployment.device
    add_data(deployment.level, 500, start=T0 + timedelta(days=1), first_id=1000)
    block = services.datablock_create(user=device.org.created_by, device=device, title="t")
    with assert_query_count(23), assert_query_count(0, using="streamdata"):
        services.datablock_archive(block=block)


def test_deleting_a_block_deletes_its_streams_data_and_events(deployment, owner, django_capture_on_commit_callbacks):
    device = deployment.device
    client = api_client(owner)
    block = _archive(client, device, django_capture_on_commit_callbacks)
    run_worker(burst=True)
    archived_series = deployment.level.series
    deployment.level.refresh_from_db()
    add_data(deployment.level, 3, start=T0 + timedelta(days=3), first_id=41)
    other = make_deployment(make_project(device.org))
    assert client.delete(f"{BLOCKS}{block.slug}/").status_code == 204
    assert not DataBlock.objects.exists()
    assert not StreamId.objects.filter(block__isnull=False).exists()
    assert StreamData.objects.count() == 3 + other.rows
    assert not StreamEventData.objects.filter(series=archived_series).exists()
    assert not StreamNote.objects.filter(target__startswith="b--").exists()
    assert not GenericProperty.objects.filter(target=block.slug).exists()
    # The device's new deployment and other devices are untouched.
    assert StreamData.objects.filter(series=deployment.level.series).count() == 3
    assert StreamData.objects.filter(series__in=[other.level.series, other.temperature.series]).count() == other.rows
    assert client.get(f"{BLOCKS}{block.slug}/").status_code == 404
