"""The move from slug columns to series ids migrates existing rows and events (docs/databases.md)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from server.apps.core.testing import api_client
from server.apps.device.tests.factories import make_device, make_project, make_stream
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData, StreamDataRollup
from server.apps.streamevent.models import StreamEventData

T0 = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)
BEFORE_DEFAULT = [("stream", "0002_division_factor_not_zero"), ("streamevent", "0001_initial")]
BEFORE_STREAMDATA = [("streamdata", "0002_slug_collation_c")]
ORPHAN = "s--0000-0fff--0000-0000-0000-0fff--5001"


def _migrate(alias: str, targets) -> None:
    executor = MigrationExecutor(connections[alias])
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def _insert_slug_rows(stream: StreamId, ids: range) -> None:
    device = f"d--{stream.slug[14:33]}"
    with connections["streamdata"].cursor() as cursor:
        for i in ids:
            cursor.execute(
                "INSERT INTO streamdata_streamdata (stream_slug, project_slug, device_slug, variable_slug, timestamp,"
                " streamer_local_id, int_value, value, status, type, dirty_ts) VALUES (%s, %s, %s, %s, %s, %s, %s,"
                " %s, 'cln', 'Num', false)",
                [
                    stream.slug,
                    stream.project.slug,
                    device,
                    stream.variable.slug,
                    T0 + datetime.timedelta(minutes=i),
                    i,
                    i,
                    float(i),
                ],
            )


@pytest.mark.django_db(transaction=True, databases=["default", "streamdata"])
def test_existing_rows_and_events_take_their_streams_series():
    project = make_project()
    first, second = make_stream(make_device(project)), make_stream(make_device(project), lid=0x5002)
    owner = project.org.created_by
    # Back to the schema with slug columns (default first, as the streamdata migration reads it), with data in it.
    _migrate("streamdata", BEFORE_STREAMDATA)
    _migrate("default", BEFORE_DEFAULT)
    try:
        _insert_slug_rows(first, range(1, 6))
        _insert_slug_rows(second, range(1, 4))
        with connections["streamdata"].cursor() as cursor:
            cursor.execute(
                "INSERT INTO streamdata_streamdata (stream_slug, project_slug, device_slug, variable_slug, timestamp,"
                " streamer_local_id, value, status, type, dirty_ts) VALUES (%s, '', '', '', %s, 1, 1, 'cln', 'Num',"
                " false)",
                [ORPHAN, T0],
            )
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "INSERT INTO streamevent_streameventdata (uuid, stream_slug, project_slug, device_slug, variable_slug,"
                " org_id, timestamp, streamer_local_id, status, dirty_ts, extra_data, data_key, format_version)"
                " VALUES (gen_random_uuid(), %s, '', '', '', %s, %s, 7, 'cln', false, '{}', '', 2)",
                [second.slug, project.org_id, T0],
            )
    finally:
        _migrate("default", None)
        _migrate("streamdata", None)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.series != second.series
    by_series = {
        series: sorted(ids)
        for series, ids in _grouped(StreamData.objects.values_list("series", "streamer_local_id")).items()
    }
    orphan_series = set(by_series) - {first.series, second.series}
    assert len(orphan_series) == 1  # a series of its own, held by no stream
    assert not StreamId.objects.filter(series__in=orphan_series).exists()
    assert (by_series[first.series], by_series[second.series]) == ([1, 2, 3, 4, 5], [1, 2, 3])
    assert list(StreamEventData.objects.values_list("series", "streamer_local_id")) == [(second.series, 7)]
    # The API reads them under the stream's slugs, and the unique index refuses a doubled reading.
    rows = api_client(owner).get("/api/v1/data/", {"filter": first.slug}).json()["results"]
    assert [(row["stream"], row["variable"], row["streamer_local_id"]) for row in rows] == [
        (first.slug, first.variable.slug, i) for i in range(1, 6)
    ]
    assert api_client(owner).post(
        "/api/v1/data/",
        [{"stream": first.slug, "timestamp": T0.isoformat(), "value": 9, "streamer_local_id": 3}],
        format="json",
    ).json() == {"count": 0}


def _grouped(pairs) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for key, value in pairs:
        found.setdefault(key, []).append(value)
    return found


def _rollup_indexes() -> list[str]:
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'streamdata_streamdatarollup'")
        return [definition for (definition,) in cursor.fetchall()]


@pytest.mark.django_db(transaction=True, databases=["default", "streamdata"])
def test_the_rollups_are_keyed_by_their_bucket_with_their_rows_kept():
    stream = make_stream(make_device(make_project()))
    buckets = [(stream.series, 60, 1000 + i, 2, 1.5 * i, 0.5, float(i)) for i in range(3)]
    columns = "series, resolution, bucket, count, sum, min, max"
    _migrate("streamdata", [("streamdata", "0005_partitioned_by_month")])
    try:
        with connections["streamdata"].cursor() as cursor:
            for bucket in buckets:
                cursor.execute(
                    f"INSERT INTO streamdata_streamdatarollup ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)", bucket
                )
        assert len(_rollup_indexes()) == 2  # the surrogate key and the unique bucket
    finally:
        _migrate("streamdata", None)

    assert _rollup_indexes() == [
        "CREATE UNIQUE INDEX streamdata_streamdatarollup_pkey ON public.streamdata_streamdatarollup USING btree "
        "(series, resolution, bucket)"
    ]
    assert sorted(StreamDataRollup.objects.values_list(*columns.split(", "))) == buckets
    # A write through the API adds to its bucket by that key (ON CONFLICT), and the ORM reads a bucket by it.
    owner = stream.project.org.created_by
    at = datetime.datetime.fromtimestamp(1000 * 60, datetime.UTC)
    assert api_client(owner).post(
        "/api/v1/data/", [{"stream": stream.slug, "timestamp": at.isoformat(), "value": 4}], format="json"
    ).json() == {"count": 1}
    first = StreamDataRollup.objects.get(pk=(stream.series, 60, 1000))
    assert (first.count, first.sum, first.min, first.max) == (3, 4.0, 0.5, 4.0)
