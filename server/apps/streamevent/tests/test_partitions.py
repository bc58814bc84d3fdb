"""Events in monthly partitions: event retention drops whole partitions (their disk and their payload files go),
deletes the expired events of the others, keeps every event inside the window once; the write path stores an event
once whatever time it comes back with (docs/retention.md, docs/databases.md)."""

from __future__ import annotations

import datetime
import threading
import uuid

import pytest
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor

from server.apps.device.tests.factories import make_device, make_project, make_stream
from server.apps.project.models import Project
from server.apps.stores.backends import StoreFileNotFoundError
from server.apps.stores.selectors import store_file_read
from server.apps.stores.services import store_file_save
from server.apps.streamdata.jobs import StreamDataPartitions
from server.apps.streamdata.partitions import partitions_list
from server.apps.streamdata.services import retention_cutoff, stream_data_claims_sql
from server.apps.streamevent.models import StreamEventData
from server.apps.streamevent.services import (
    EVENT_CLAIM_TABLE,
    EVENT_STORE,
    stream_events_bulk_insert,
    stream_events_partitions_ensure,
    stream_events_retention_apply,
)

NOW = datetime.datetime(2026, 6, 15, 8, 30, tzinfo=datetime.UTC)
TABLE = "streamevent_streameventdata"
HOUR = datetime.timedelta(hours=1)


def at(year: int, month: int, day: int, hour: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=datetime.UTC)


def partition_names() -> list[str]:
    with connections["default"].cursor() as cursor:
        return [partition.name for partition in partitions_list(cursor, TABLE)]


def on_disk() -> int:
    """The events table's size with its indexes, over every partition."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = %s::regclass",
            [TABLE],
        )
        return int(cursor.fetchone()[0])


def events(stream, count: int, *, start: datetime.datetime, first_id: int = 1, payload: bool = False, step=HOUR):
    """``count`` events one ``step`` apart, streamer ids from ``first_id`` (0: none); with a payload file each."""
    made = []
    for i in range(count):
        event = StreamEventData(
            series=stream.series,
            org_id=stream.org_id,
            timestamp=start + i * step if start else None,
            streamer_local_id=first_id + i if first_id else 0,
            extra_data={"i": i, "pad": "x" * 200},
        )
        if payload:
            event.data_key = f"{stream.slug}/{event.uuid}.json"
            store_file_save(store=EVENT_STORE, key=event.data_key, content=b'{"samples": [1, 2]}')
        made.append(event)
    assert stream_events_bulk_insert(events=made) == count
    return made


def stored(stream) -> list[tuple[int, datetime.datetime | None]]:
    rows = StreamEventData.objects.filter(series=stream.series).order_by("streamer_local_id", "timestamp")
    return list(rows.values_list("streamer_local_id", "timestamp"))


def payload_exists(key: str) -> bool:
    try:
        store_file_read(store=EVENT_STORE, key=key)
    except StoreFileNotFoundError:
        return False
    return True


@pytest.fixture
def two_projects(db):
    """``brief`` keeps 30 days of events (cutoff 2026-05-16), ``forever`` keeps everything; events in February (the
    brief project only), March (both), across the cutoff in May, in June, in 1999 and without a time."""
    brief, forever = make_project(), make_project()
    Project.objects.filter(pk=brief.pk).update(event_retention_days=30)
    short, long = make_stream(make_device(brief)), make_stream(make_device(forever))
    made = {
        "february": events(short, 600, start=at(2026, 2, 1), step=datetime.timedelta(minutes=5), payload=False),
        "february payloads": events(short, 3, start=at(2026, 2, 28), first_id=1000, payload=True),
        "march": events(short, 48, start=at(2026, 3, 3), first_id=2000),
        "march, kept": events(long, 48, start=at(2026, 3, 3)),
        "may": events(short, 10 * 24, start=at(2026, 5, 11), first_id=3000, payload=True),
        "june": events(short, 24, start=at(2026, 6, 10), first_id=4000),
        "1999": events(short, 5, start=at(1999, 1, 1), first_id=5000),
        "no time": events(short, 2, start=None, first_id=6000),
    }
    stream_events_partitions_ensure(now=NOW)
    return short, long, made


def test_events_move_out_of_the_default_partition_into_months_of_their_own(db):
    stream = make_stream(make_device(make_project()))
    events(stream, 3, start=at(2031, 2, 3), step=datetime.timedelta(days=1))
    events(stream, 1, start=at(9500, 1, 1), first_id=4)
    assert f"{TABLE}_p203102" not in partition_names()
    created = stream_events_partitions_ensure(now=NOW)
    assert f"{TABLE}_p203102" in created
    assert {f"{TABLE}_p202606", f"{TABLE}_p202607", f"{TABLE}_p202608"} <= set(partition_names())
    with connections["default"].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}_default")
        assert cursor.fetchone()[0] == 1
    assert [lid for lid, _ in stored(stream)] == [1, 2, 3, 4]
    assert stream_events_partitions_ensure(now=NOW) == []


def test_event_retention_drops_whole_months_and_keeps_every_event_inside_the_window(
    two_projects, django_capture_on_commit_callbacks
):
    short, long, made = two_projects
    cutoff = retention_cutoff(now=NOW, days=30)
    assert cutoff == at(2026, 5, 16)
    assert {f"{TABLE}_p202602", f"{TABLE}_p202603", f"{TABLE}_p202605", f"{TABLE}_p199901"} <= set(partition_names())
    inside = sorted((e.streamer_local_id, e.timestamp) for e in made["may"] + made["june"] if e.timestamp >= cutoff)
    inside += sorted((e.streamer_local_id, None) for e in made["no time"])
    before = on_disk()

    with django_capture_on_commit_callbacks(execute=True):
        result = stream_events_retention_apply(now=NOW)

    assert sorted(result.partitions_dropped) == [f"{TABLE}_p199901", f"{TABLE}_p202602"]
    assert f"{TABLE}_p202602" not in partition_names()
    # March's events of the brief project and May's before the cutoff are deleted in place.
    assert result.rows_deleted == 48 + 5 * 24
    # Every event inside the window is kept, once; none outside it is left; the other project keeps all.
    assert sorted(stored(short), key=lambda row: (row[0], row[1] or cutoff)) == inside
    assert len(stored(long)) == 48
    assert not StreamEventData.objects.filter(series=short.series, timestamp__lt=cutoff).exists()
    # The payload files of the events that went are gone, those of the kept ones stay.
    gone = made["february payloads"] + [e for e in made["may"] if e.timestamp < cutoff]
    assert not any(payload_exists(event.data_key) for event in gone)
    assert all(payload_exists(event.data_key) for event in made["may"] if event.timestamp >= cutoff)
    # The dropped months' files are back: the table and its indexes are smaller on disk.
    assert on_disk() < before
    # A second run finds nothing more.
    assert stream_events_retention_apply(now=NOW).rows_deleted == 0


def test_an_event_that_comes_in_keeps_its_month(two_projects):
    """An event of a project keeping its events, written into a month otherwise all expired, keeps that month."""
    short, long, _ = two_projects
    events(long, 1, start=at(2026, 2, 20), first_id=77)
    result = stream_events_retention_apply(now=NOW)
    assert f"{TABLE}_p202602" not in result.partitions_dropped
    assert StreamEventData.objects.filter(series=long.series, timestamp=at(2026, 2, 20)).exists()
    assert not StreamEventData.objects.filter(series=short.series, timestamp__lt=at(2026, 5, 16)).exists()


def test_the_worker_makes_the_event_partitions(db):
    StreamDataPartitions().execute({})
    assert len(partition_names()) >= 4  # this month, the next two, DEFAULT


def test_an_event_resent_with_another_time_or_again_is_stored_once(db):
    stream = make_stream(make_device(make_project()))
    first = events(stream, 10, start=at(2026, 1, 1))
    # The same readings from another report: other uuids, times a month later (another partition).
    again = [
        StreamEventData(series=stream.series, org_id=stream.org_id, timestamp=at(2026, 2, 1), streamer_local_id=lid)
        for lid in range(5, 16)
    ]
    assert stream_events_bulk_insert(events=again) == 5
    # A retried report: the same uuids (events without streamer ids are stored once too).
    loose = events(stream, 2, start=at(2026, 3, 1), first_id=0)
    assert stream_events_bulk_insert(events=first + loose) == 0
    lids = [lid for lid, _ in stored(stream)]
    assert lids == [0, 0, *range(1, 16)]
    # A uuid stored is not stored again under another time.
    moved = StreamEventData(uuid=loose[0].uuid, series=stream.series, org_id=stream.org_id, timestamp=at(2027, 1, 1))
    assert stream_events_bulk_insert(events=[moved]) == 0


@pytest.mark.django_db(transaction=True)
def test_an_overlapping_event_write_waits_for_the_claim_then_skips_what_it_stored():
    stream = make_stream(make_device(make_project()))
    claimed, released = threading.Event(), threading.Event()

    def first_writer():
        try:
            with transaction.atomic(), connections["default"].cursor() as cursor:
                cursor.execute(*stream_data_claims_sql(claims=[(stream.series, 1, 10)], table=EVENT_CLAIM_TABLE))
                claimed.set()
                released.wait(10)
                cursor.execute(
                    f"INSERT INTO {TABLE} (uuid, series, org_id, timestamp, streamer_local_id, status, dirty_ts, "
                    "extra_data, data_key, format_version) SELECT gen_random_uuid(), %s, %s, "
                    "%s + i * interval '1 minute', i, 'cln', false, '{}', '', 2 FROM generate_series(1, 10) i",
                    [stream.series, stream.org_id, at(2026, 1, 1)],
                )
        finally:
            connections["default"].close()

    thread = threading.Thread(target=first_writer)
    thread.start()
    assert claimed.wait(10)
    results = []

    def second_writer():
        try:
            made = [
                StreamEventData(
                    uuid=uuid.uuid4(),
                    series=stream.series,
                    org_id=stream.org_id,
                    timestamp=at(2026, 3, 1),
                    streamer_local_id=lid,
                )
                for lid in range(5, 16)
            ]
            results.append(stream_events_bulk_insert(events=made))
        finally:
            connections["default"].close()

    second = threading.Thread(target=second_writer)
    second.start()
    second.join(1)
    assert second.is_alive(), "the overlapping write waits for the claim"
    released.set()
    thread.join(10)
    second.join(10)
    assert results == [5]
    assert sorted(lid for lid, _ in stored(stream)) == list(range(1, 16))


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_events():
    stream = make_stream(make_device(make_project()))
    executor = MigrationExecutor(connections["default"])
    executor.migrate([("streamevent", "0002_events_keyed_by_series")])
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [f"{TABLE}_default"])
            assert cursor.fetchone()[0] is None  # a plain table again
            cursor.execute(
                f"INSERT INTO {TABLE} (uuid, series, org_id, timestamp, streamer_local_id, status, dirty_ts, "
                "extra_data, data_key, format_version) SELECT gen_random_uuid(), %s, %s, %s + i * interval '9 days', "
                "i, 'cln', false, '{}', '', 2 FROM generate_series(1, 10) i",
                [stream.series, stream.org_id, at(2024, 1, 1)],
            )
            cursor.execute(
                f"INSERT INTO {TABLE} (uuid, series, org_id, streamer_local_id, status, dirty_ts, extra_data, data_key,"
                " format_version) VALUES (gen_random_uuid(), %s, %s, 11, 'cln', false, '{}', '', 2)",
                [stream.series, stream.org_id],
            )
    finally:
        executor = MigrationExecutor(connections["default"])
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert {f"{TABLE}_p202401", f"{TABLE}_p202402", f"{TABLE}_p202403", f"{TABLE}_default"} <= set(partition_names())
    assert [lid for lid, _ in stored(stream)] == list(range(1, 12))
    # New events take ids after the old ones, and the old ones are seen by the write path.
    events(stream, 1, start=at(2024, 5, 1), first_id=12)
    assert StreamEventData.objects.order_by("-id").values_list("streamer_local_id", flat=True)[0] == 12
    resent = StreamEventData(series=stream.series, org_id=stream.org_id, timestamp=at(2025, 1, 1), streamer_local_id=3)
    assert stream_events_bulk_insert(events=[resent]) == 0
