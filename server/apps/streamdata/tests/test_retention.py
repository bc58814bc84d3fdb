"""Monthly partitions and retention: whole partitions dropped, expired rows deleted elsewhere, roll-ups equal to the
rows, and a reading stored once whatever time it is re-sent with (docs/retention.md)."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connections, transaction

from server.apps.device.tests.factories import add_data, make_device, make_project, make_stream
from server.apps.project.models import Project
from server.apps.streamdata.jobs import DataRetention, StreamDataPartitions
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.partitions import partitions_list
from server.apps.streamdata.services import (
    retention_cutoff,
    stream_data_claims_sql,
    stream_data_partitions_ensure,
    stream_data_retention_apply,
)
from server.apps.streamdata.tests.test_rollups import assert_rolled_up, write
from server.apps.streamevent.models import StreamEventData
from server.apps.streamevent.services import stream_events_retention_apply
from server.apps.worker.scheduler import periodic_jobs

NOW = datetime.datetime(2026, 6, 15, 8, 30, tzinfo=datetime.UTC)
TABLE = "streamdata_streamdata"


def at(year: int, month: int, day: int, hour: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=datetime.UTC)


def partition_names() -> list[str]:
    with connections["streamdata"].cursor() as cursor:
        return [partition.name for partition in partitions_list(cursor, TABLE)]


def rows_in(name: str, series: int | None = None) -> int:
    with connections["streamdata"].cursor() as cursor:
        if series is None:
            cursor.execute(f"SELECT count(*) FROM {name}")
        else:
            cursor.execute(f"SELECT count(*) FROM {name} WHERE series = %s", [series])
        return cursor.fetchone()[0]


def readings(series: int) -> list[tuple[int, datetime.datetime]]:
    rows = StreamData.objects.filter(series=series).order_by("timestamp")
    return list(rows.values_list("streamer_local_id", "timestamp"))


def test_rows_outside_the_partitions_wait_in_the_default_one_then_get_a_month_of_their_own(db):
    stream = make_stream(make_device(make_project()))
    add_data(stream, 3, start=at(2031, 2, 3), step=datetime.timedelta(days=1))
    add_data(stream, 1, start=at(9500, 1, 1), first_id=4)  # a clock gone wild stays where it is
    assert f"{TABLE}_p203102" not in partition_names()
    assert rows_in(f"{TABLE}_default") == 4
    created = stream_data_partitions_ensure(now=NOW)
    assert f"{TABLE}_p203102" in created
    assert {f"{TABLE}_p202606", f"{TABLE}_p202607", f"{TABLE}_p202608"} <= set(partition_names())
    assert rows_in(f"{TABLE}_default") == 1
    assert rows_in(f"{TABLE}_p203102") == 3
    assert [lid for lid, _ in readings(stream.series)] == [1, 2, 3, 4]
    # Nothing more to do the second time.
    assert stream_data_partitions_ensure(now=NOW) == []


def test_a_reading_resent_with_another_time_is_stored_once(db):
    """Two reports carrying the same readings with other time bases (a month apart: other partitions): the unique
    index, which holds the time, cannot see it; the lookup across the partitions does."""
    stream = make_stream(make_device(make_project()))
    first = write(stream, list(range(1, 101)))
    assert first.new_reading_count == 100
    shifted = write(stream, list(range(50, 151)), step=17.0 + 40 * 86400 / 150)
    assert shifted.conflict_path
    assert (shifted.new_reading_count, shifted.duplicate_reading_count) == (50, 51)
    ids = [lid for lid, _ in readings(stream.series)]
    assert sorted(ids) == list(range(1, 151))
    assert_rolled_up(stream.series)
    # Through the API's insert, the same.
    add_data(stream, 10, start=at(2020, 1, 1), first_id=140)
    assert sorted(lid for lid, _ in readings(stream.series)) == list(range(1, 151))
    assert_rolled_up(stream.series)


def test_a_report_repeating_an_id_stores_it_once(db):
    stream = make_stream(make_device(make_project()))
    result = write(stream, [1, 2, 2, 3])
    assert result.conflict_path
    assert result.new_reading_count == 3
    assert sorted(lid for lid, _ in readings(stream.series)) == [1, 2, 3]


@pytest.mark.django_db(transaction=True, databases=["default", "streamdata"])
def test_an_overlapping_write_waits_for_the_claim_then_skips_what_it_stored():
    """A write holding a claim on ids 1..100 of a series makes a concurrent write of ids 50..150 (with other times)
    wait; once the first commits, the second stores only 101..150."""
    stream = make_stream(make_device(make_project()))
    claimed, released = threading.Event(), threading.Event()

    def first_writer():
        try:
            with transaction.atomic(using="streamdata"), connections["streamdata"].cursor() as cursor:
                cursor.execute(*stream_data_claims_sql(claims=[(stream.series, 1, 100)]))
                claimed.set()
                released.wait(10)
                cursor.execute(
                    f"INSERT INTO {TABLE} (series, timestamp, streamer_local_id, value, status, type, dirty_ts) "
                    "SELECT %s, %s + i * interval '1 minute', i, i, 'cln', 'Num', false FROM generate_series(1, 100) i",
                    [stream.series, at(2026, 1, 1)],
                )
        finally:
            connections["streamdata"].close()

    thread = threading.Thread(target=first_writer)
    thread.start()
    assert claimed.wait(10)
    results = []

    def second_writer():
        try:
            results.append(write(stream, list(range(50, 151)), step=86400.0))
        finally:
            connections["streamdata"].close()

    second = threading.Thread(target=second_writer)
    second.start()
    second.join(1)
    assert second.is_alive(), "the overlapping write waits for the claim"
    released.set()
    thread.join(10)
    second.join(10)
    assert results[0].new_reading_count == 50
    assert sorted(lid for lid, _ in readings(stream.series)) == list(range(1, 151))
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM streamdata_writeclaim")
        assert cursor.fetchone()[0] == 0


@pytest.fixture
def two_projects(db):
    """``brief`` keeps 30 days of data (cutoff 2026-05-16), ``forever`` keeps everything."""
    brief, forever = make_project(), make_project()
    Project.objects.filter(pk=brief.pk).update(data_retention_days=30, event_retention_days=30)
    short = make_stream(make_device(brief))
    long = make_stream(make_device(forever))
    hour = datetime.timedelta(hours=1)
    add_data(short, 48, start=at(2026, 2, 3), step=hour, first_id=1)  # February: only the brief project
    add_data(short, 48, start=at(2026, 3, 3), step=hour, first_id=100)  # March: shared with the other
    add_data(long, 48, start=at(2026, 3, 3), step=hour, first_id=1)
    add_data(short, 10 * 24, start=at(2026, 5, 11), step=hour, first_id=200)  # May 11-20: across the cutoff
    add_data(short, 24, start=at(2026, 6, 10), step=hour, first_id=500)
    add_data(short, 5, start=at(1999, 1, 1), step=hour, first_id=900)  # an old clock: in the DEFAULT partition
    stream_data_partitions_ensure(now=NOW)
    # ... until the partitions are made: 1999-01 then has its own.
    return short, long


def test_retention_drops_whole_partitions_and_deletes_the_expired_rows_of_the_others(two_projects):
    short, long = two_projects
    cutoff = retention_cutoff(now=NOW, days=30)
    assert cutoff == at(2026, 5, 16)
    assert {f"{TABLE}_p202602", f"{TABLE}_p202603", f"{TABLE}_p202605", f"{TABLE}_p199901"} <= set(partition_names())
    add_data(short, 2, start=at(1990, 1, 1), first_id=950)  # stays in DEFAULT until the next partitions run

    result = stream_data_retention_apply(now=NOW)

    assert sorted(result.partitions_dropped) == [f"{TABLE}_p199901", f"{TABLE}_p202602"]
    assert f"{TABLE}_p202602" not in partition_names()
    # March keeps the other project's rows; May keeps the brief project's rows from the cutoff on.
    assert rows_in(f"{TABLE}_p202603", short.series) == 0
    assert rows_in(f"{TABLE}_p202603", long.series) == 48
    assert result.rows_deleted == 48 + 5 * 24 + 2
    kept = readings(short.series)
    assert min(timestamp for _, timestamp in kept) == cutoff
    assert len(kept) == 5 * 24 + 24
    assert len(readings(long.series)) == 48
    assert_rolled_up(short.series)
    assert_rolled_up(long.series)
    # A second run finds nothing more.
    assert stream_data_retention_apply(now=NOW).rows_deleted == 0


def test_a_reading_that_comes_in_keeps_its_partition(two_projects):
    """A reading of a project keeping its data, written into a month otherwise all expired, keeps that month."""
    short, long = two_projects
    add_data(long, 1, start=at(2026, 2, 20), first_id=77)
    result = stream_data_retention_apply(now=NOW)
    assert f"{TABLE}_p202602" not in result.partitions_dropped
    assert rows_in(f"{TABLE}_p202602") == 1
    assert_rolled_up(short.series)
    assert_rolled_up(long.series)


def test_no_retention_removes_nothing(db):
    stream = make_stream(make_device(make_project()))
    add_data(stream, 10, start=at(2001, 1, 1))
    stream_data_partitions_ensure(now=NOW)
    assert stream_data_retention_apply(now=NOW).rows_deleted == 0
    assert len(readings(stream.series)) == 10


def test_events_older_than_the_retention_go(two_projects):
    short, long = two_projects
    for stream in (short, long):
        for timestamp in (at(2026, 3, 1), at(2026, 6, 1)):
            StreamEventData.objects.create(series=stream.series, org=stream.org, timestamp=timestamp)
    assert stream_events_retention_apply(now=NOW).rows_deleted == 1
    assert StreamEventData.objects.filter(series=short.series).get().timestamp == at(2026, 6, 1)
    assert StreamEventData.objects.filter(series=long.series).count() == 2


def test_the_worker_runs_them_on_its_scheduler(two_projects):
    assert periodic_jobs["StreamDataPartitions"].interval == datetime.timedelta(hours=6)
    assert periodic_jobs["DataRetention"].interval == datetime.timedelta(days=1)
    StreamDataPartitions().execute({})
    DataRetention().execute({})
    short, _ = two_projects
    # Today is later than NOW: the cutoff is too.
    assert not StreamData.objects.filter(series=short.series, timestamp__lt=at(2026, 5, 16)).exists()


def test_the_dropped_partition_frees_its_disk(two_projects):
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size(%s)", [f"{TABLE}_p202602"])
        assert cursor.fetchone()[0] > 0
    stream_data_retention_apply(now=NOW)
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"{TABLE}_p202602"])
        assert cursor.fetchone()[0] is None


def total_size(name: str) -> int:
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size(%s)", [name])
        return cursor.fetchone()[0]


def emptied(name: str) -> int:
    """Truncates the table ``name`` and returns its size then. Other tests' rows, rolled back, leave it hundreds of
    megabytes whose free space the next rows fill without growing it; truncated (within this test's transaction),
    it grows with the first row."""
    with connections["streamdata"].cursor() as cursor:
        cursor.execute(f'TRUNCATE "{name}"')
    return total_size(name)


def test_readings_of_months_without_a_partition_free_their_disk_when_they_expire(db):
    """Readings uploaded today with old clocks wait in the DEFAULT partition until the next partitions run: if
    retention comes first, their rows are deleted and the partition, emptied, is truncated, its indexes too."""
    brief, forever = make_project(), make_project()
    Project.objects.filter(pk=brief.pk).update(data_retention_days=30)
    short, long = make_stream(make_device(brief)), make_stream(make_device(forever))
    stream_data_partitions_ensure(now=NOW)
    default = f"{TABLE}_default"
    empty = emptied(default)
    add_data(short, 2000, start=at(2026, 3, 1), step=datetime.timedelta(minutes=1))
    add_data(short, 10, start=at(2026, 6, 10), first_id=5000)
    assert rows_in(default) == 2000
    assert total_size(default) > empty

    result = stream_data_retention_apply(now=NOW)

    assert result.rows_deleted == 2000
    assert total_size(default) <= empty  # truncated: the table's and its indexes' pages are gone
    assert [lid for lid, _ in readings(short.series)] == list(range(5000, 5010))
    assert_rolled_up(short.series)
    # A DEFAULT partition still holding a reading of a project that keeps it is left as it is.
    add_data(long, 5, start=at(2026, 3, 1), first_id=1)
    add_data(short, 5, start=at(2026, 3, 1), first_id=100)
    assert stream_data_retention_apply(now=NOW).rows_deleted == 5
    assert [lid for lid, _ in readings(long.series)] == [1, 2, 3, 4, 5]


def test_the_default_partition_emptied_by_the_partitions_run_is_truncated(db):
    stream = make_stream(make_device(make_project()))
    default = f"{TABLE}_default"
    empty = emptied(default)
    add_data(stream, 2000, start=at(2031, 2, 3), step=datetime.timedelta(minutes=1))
    assert total_size(default) > empty
    assert f"{TABLE}_p203102" in stream_data_partitions_ensure(now=NOW)
    assert rows_in(default) == 0
    assert total_size(default) <= empty
    assert len(readings(stream.series)) == 2000
