"""Roll-ups stay equal to a fresh aggregate of the rows through every write, duplicate, archive, replacement and
deletion, and charts read from them are the charts of the rows."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connections

from server.apps.core.testing import api_client
from server.apps.datablock.services import datablock_archive, datablock_create
from server.apps.datablock.tests.factories import make_deployment
from server.apps.device.services import device_replace
from server.apps.device.tests.factories import add_data, make_device, make_project, make_stream
from server.apps.stream.models import StreamId
from server.apps.stream.services import stream_delete
from server.apps.stream.tests.factories import add_generated_readings
from server.apps.streamdata.models import ROLLUP_RESOLUTIONS, StreamData, StreamDataRollup
from server.apps.streamdata.selectors.series import _row_buckets, series_buckets
from server.apps.streamdata.services import stream_data_rollups_rebuild
from server.apps.streamer.copy_rows import CopyRows, StreamColumns
from server.apps.streamer.reports.timestamps import TimedReadings
from server.apps.streamer.writer import streamdata_write

T0 = datetime.datetime(2026, 3, 1, 10, 17, 23, 250000, tzinfo=datetime.UTC)


def fresh(series: int) -> dict[tuple[int, int], tuple]:
    """(resolution, bucket) → (count, sum, min, max), aggregated from the rows now."""
    with connections["streamdata"].cursor() as cursor:
        cursor.execute(
            "SELECT r, floor(extract(epoch FROM timestamp) / r)::bigint, count(value), sum(value), min(value), "
            "max(value) FROM streamdata_streamdata CROSS JOIN unnest(%s::int[]) AS res (r) "
            "WHERE series = %s AND timestamp IS NOT NULL GROUP BY 1, 2",
            [list(ROLLUP_RESOLUTIONS), series],
        )
        return {(r, bucket): rest for r, bucket, *rest in cursor.fetchall()}


def kept(series: int) -> dict[tuple[int, int], tuple]:
    rows = StreamDataRollup.objects.filter(series=series).values_list(
        "resolution", "bucket", "count", "sum", "min", "max"
    )
    return {(r, bucket): (count, total, low, high) for r, bucket, count, total, low, high in rows}


def assert_rolled_up(series: int) -> None:
    expected, found = fresh(series), kept(series)
    assert found.keys() == expected.keys()
    for key, (count, total, low, high) in expected.items():
        assert found[key][0] == count, key
        assert found[key][2:] == (low, high), key
        assert found[key][1] == pytest.approx(total, rel=1e-12), key


def write(stream: StreamId, ids: list[int], *, step: float = 17.0, value=lambda i: i * 1.5 - 7):
    readings = TimedReadings(
        streams=[1] * len(ids),
        reading_ids=ids,
        device_timestamps=[int(i * step) for i in ids],
        timestamps=[T0 + datetime.timedelta(seconds=i * step) for i in ids],
        int_values=list(ids),
        statuses=["cln"] * len(ids),
        dirty=[False] * len(ids),
    )
    rows = CopyRows(
        readings=readings, values=[value(i) for i in ids], stream_columns={1: StreamColumns(stream.series, "Num")}
    )
    return streamdata_write(report_id=uuid.uuid4(), streamer_id=1, streamer_slug="t--x", rows=rows)


@pytest.fixture
def stream(db):
    return make_stream(make_device(make_project()))


def test_ingest_adds_exactly_the_rows_inserted(stream):
    fast = write(stream, list(range(1, 400)))
    assert not fast.conflict_path
    assert_rolled_up(stream.series)
    # Overlapping and doubled readings: only the new ones count.
    overlap = write(stream, list(range(300, 700)), value=lambda i: 1000.0)
    assert overlap.conflict_path
    assert overlap.new_reading_count == 300
    assert_rolled_up(stream.series)
    # The same readings again: nothing changes.
    before = kept(stream.series)
    write(stream, list(range(1, 700)))
    assert kept(stream.series) == before
    # Readings without an id take the conflict-safe path, and count each time.
    unnumbered = write(stream, [0, 0, 0])
    assert unnumbered.conflict_path
    assert_rolled_up(stream.series)


def test_readings_on_and_beside_bucket_edges_fall_in_the_buckets_of_the_rows(stream):
    """The roll-ups are summed from per-minute sums: a reading on an edge, a microsecond before one, before 1970 or
    at the end of a day lands in the same bucket as the rows' own aggregate puts it, at every resolution."""
    edges = [
        datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
        datetime.datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(1969, 12, 31, 23, 0, tzinfo=datetime.UTC),
        datetime.datetime(1960, 6, 30, 11, 59, 30, tzinfo=datetime.UTC),
    ]
    times = sorted({edge + datetime.timedelta(microseconds=shift) for edge in edges for shift in (-1, 0, 1)})
    ids = list(range(1, len(times) + 1))
    readings = TimedReadings(
        streams=[1] * len(ids),
        reading_ids=ids,
        device_timestamps=ids,
        timestamps=times,
        int_values=ids,
        statuses=["cln"] * len(ids),
        dirty=[False] * len(ids),
    )
    rows = CopyRows(
        readings=readings, values=[i * 0.25 for i in ids], stream_columns={1: StreamColumns(stream.series, "Num")}
    )
    streamdata_write(report_id=uuid.uuid4(), streamer_id=1, streamer_slug="t--x", rows=rows)
    assert_rolled_up(stream.series)
    assert len(kept(stream.series)) == len(fresh(stream.series)) > len(edges) * len(ROLLUP_RESOLUTIONS)


def test_the_api_and_bulk_inserts_add_only_new_readings(stream):
    owner = stream.org.created_by
    points = [
        {
            "stream": stream.slug,
            "timestamp": (T0 + datetime.timedelta(hours=h)).isoformat(),
            "value": h / 3,
            "streamer_local_id": h,
        }
        for h in range(1, 30)
    ]
    client = api_client(owner)
    assert client.post("/api/v1/data/", points, format="json").json() == {"count": 29}
    assert client.post("/api/v1/data/", [{**p, "value": 99} for p in points[:10]], format="json").json() == {"count": 0}
    assert_rolled_up(stream.series)
    add_data(stream, 500, start=T0, step=datetime.timedelta(seconds=47), first_id=100)
    add_data(stream, 500, start=T0, step=datetime.timedelta(seconds=47), first_id=100)
    assert_rolled_up(stream.series)


def test_rollups_follow_the_series_through_archiving_and_go_with_deletion(db):
    deployment = make_deployment()
    device, level = deployment.device, deployment.level
    owner = device.org.created_by
    block = datablock_create(user=owner, device=device, title="Trip 1")
    expected = fresh(level.series)
    datablock_archive(block=block)
    archived = StreamId.objects.get(block=block, var_lid=level.var_lid)
    assert archived.series == level.series
    assert fresh(archived.series) == expected
    assert_rolled_up(archived.series)
    level.refresh_from_db()
    assert kept(level.series) == {}
    add_data(level, 20, start=T0, first_id=1000)
    assert_rolled_up(level.series)
    assert_rolled_up(archived.series)

    stream_delete(stream=archived)
    assert not StreamDataRollup.objects.filter(series=archived.series).exists()
    assert not StreamData.objects.filter(series=archived.series).exists()
    assert_rolled_up(level.series)


def test_replacing_a_device_leaves_each_series_its_own(db):
    project = make_project()
    old, new = make_device(project), make_device(project)
    old_stream, new_stream = make_stream(old), make_stream(new)
    add_data(old_stream, 100, start=T0)
    device_replace(old_device=old, new_device=new, at=T0 + datetime.timedelta(days=1), user=project.org.created_by)
    add_data(new_stream, 100, start=T0 + datetime.timedelta(days=1))
    assert_rolled_up(old_stream.series)
    assert_rolled_up(new_stream.series)


def test_rebuilding_gives_the_same_rollups(stream):
    write(stream, list(range(1, 300)))
    before = kept(stream.series)
    StreamDataRollup.objects.all().delete()
    stream_data_rollups_rebuild(series=[stream.series])
    assert kept(stream.series).keys() == before.keys()
    assert_rolled_up(stream.series)


@pytest.mark.parametrize("width", [60, 300, 3600, 7200, 21600, 86400, 7 * 86400])
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (T0 - datetime.timedelta(days=1), T0 + datetime.timedelta(days=40)),
        (T0 + datetime.timedelta(minutes=7, seconds=3), T0 + datetime.timedelta(days=3, hours=5, seconds=1)),
        (T0 + datetime.timedelta(hours=1), T0 + datetime.timedelta(hours=1, minutes=30)),
    ],
)
def test_chart_buckets_from_rollups_are_those_of_the_rows(stream, width, start, end):
    add_generated_readings(stream, count=20_000, start=T0, step_seconds=97)
    found = series_buckets(series=stream.series, start=start, end=end, width=width)
    rows = _row_buckets(series=stream.series, start=start, end=end, width=width)
    assert found.keys() == rows.keys()
    for bucket, (count, total, low, high) in rows.items():
        assert (found[bucket][0], found[bucket][2], found[bucket][3]) == (count, low, high)
        assert found[bucket][1] == pytest.approx(total, rel=1e-12)
