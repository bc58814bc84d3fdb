"""A large report written in parts side by side, on two streamdata connections (STREAMDATA_WRITE_CONNECTIONS=2):
each part its own transaction and mark, the report's figures their sum, a crash between the parts' commits leaving
the retry exactly the parts that did not commit. The extra connection commits outside any test transaction, so
these tests use ``transactional_db``."""

from __future__ import annotations

import datetime

import pytest
from django.db.models.functions import Now

from server.apps.streamer.copy_rows import CopyRows, StreamColumns
from server.apps.streamer.models import IngestedReport, ReportStatus, Streamer, StreamerReport
from server.apps.streamer.reports.timestamps import TimedReadings
from server.apps.streamer.tests.factories import (
    assert_report_stored,
    make_ingest,
    process,
    signed_report,
    stored,
    upload,
)
from server.apps.streamer.tests.run_crashing_worker import POINTS
from server.apps.streamer.tests.test_crash import (  # noqa: F401
    assert_reports_stored_once,
    crashing_worker,
    expected_rows,
    worker_env,
)
from server.apps.streamer.writer import PARALLEL_WRITE_MIN_ROWS, WriteResult, close_write_connections, combined
from server.apps.worker.models import DeadLetter, QueueMessage

READINGS = PARALLEL_WRITE_MIN_ROWS + 1000
SENT = 20_000


@pytest.fixture
def two_connections(settings, transactional_db):
    settings.STREAMDATA_WRITE_CONNECTIONS = 2
    yield
    close_write_connections()  # before the test database is dropped


def large_report(ingest) -> bytes:
    rows = [(10 * i, 0x5001 + i % 2, 7 * i, i) for i in range(1, READINGS + 1)]
    return signed_report(ingest.device.id, rows, report_id=READINGS + 1, sent=SENT)


def test_a_large_report_is_written_in_two_parts(two_connections):
    ingest = make_ingest()
    data = large_report(ingest)
    assert_report_stored(upload(ingest.client, data), data, count=READINGS)
    assert process().succeeded == 1

    marks = list(IngestedReport.objects.order_by("part").values_list("part", "new_reading_count", "first_id"))
    half = -(-READINGS // 2)
    assert marks == [(0, half, 1), (1, READINGS - half, half + 1)]
    report = StreamerReport.objects.get()
    assert (report.status, report.new_reading_count, report.actual_first_id, report.actual_last_id) == (
        ReportStatus.SUCCESS,
        READINGS,
        1,
        READINGS,
    )
    assert [row[1] for row in stored()] == sorted(range(1, READINGS + 1), key=lambda i: (i % 2 == 1, i))

    # The same file again: both parts go the conflict-safe way and store nothing.
    again = assert_report_stored(upload(ingest.client, data), data, count=0)
    process()
    again.refresh_from_db()
    assert (again.new_reading_count, again.duplicate_reading_count) == (0, READINGS)
    assert len(stored()) == READINGS


def test_the_worker_self_test_opens_both_write_connections(two_connections):
    from server.apps.streamer.writer import write_connections_check

    assert write_connections_check() == "2 streamdata write connection(s) answer"


def test_a_small_report_is_one_part(two_connections):
    ingest = make_ingest()
    rows = [(10 * i, 0x5001, i, i) for i in range(1, 101)]
    upload(ingest.client, signed_report(ingest.device.id, rows, report_id=101))
    process()
    assert list(IngestedReport.objects.values_list("part", "new_reading_count")) == [(0, 100)]


@pytest.mark.parametrize("point", ["mid_copy", "before_data_commit", "after_data_commit"])
def test_a_worker_killed_between_the_parts_commits(two_connections, worker_env, point):  # noqa: F811
    ingest = make_ingest()
    assert upload(ingest.client, large_report(ingest)).status_code == 201
    crashing_worker({**worker_env, "STREAMDATA_WRITE_CONNECTIONS": "2"}, f"{point}@1")
    assert IngestedReport.objects.count() in (0, 1, 2)
    committed = {mark.part: mark.new_reading_count for mark in IngestedReport.objects.all()}
    assert len(stored()) == sum(committed.values())

    QueueMessage.objects.update(available_at=Now())
    stats = process()
    assert (stats.received, stats.succeeded) == (1, 1)
    assert not DeadLetter.objects.exists()
    assert sorted(row[1] for row in stored()) == list(range(1, READINGS + 1))
    assert stored() == expected_rows(ingest, range(1, READINGS + 1))
    report = StreamerReport.objects.get()
    assert (report.new_reading_count, report.duplicate_reading_count) == (READINGS, 0)
    assert Streamer.objects.get().last_id == READINGS
    assert sorted(IngestedReport.objects.values_list("part", flat=True)) == [0, 1]


@pytest.mark.parametrize("point", POINTS)
def test_a_worker_killed_in_a_batch_with_the_next_parts_queued(two_connections, worker_env, point):  # noqa: F811
    """Three consecutive large reports in one batch, each in two parts, the next report's parts queued behind the
    current one's on each connection; the worker dies at the second time the point is reached. The retry leaves every
    reading stored once, every report's figures as if nothing had happened, and one mark per part."""
    ingest = make_ingest()
    for number in range(3):
        ids = range(number * READINGS + 1, (number + 1) * READINGS + 1)
        rows = [(10 * i, 0x5001 + i % 2, 7 * i, i) for i in ids]
        data = signed_report(ingest.device.id, rows, report_id=ids[-1] + 1, sent=SENT)
        assert upload(ingest.client, data).status_code == 201
    crashing_worker({**worker_env, "STREAMDATA_WRITE_CONNECTIONS": "2"}, f"{point}@2", "--batch-size", "3")
    committed = {(mark.report_id, mark.part): mark.new_reading_count for mark in IngestedReport.objects.all()}
    assert len(stored()) == sum(committed.values())

    QueueMessage.objects.update(available_at=Now())
    process()
    assert not QueueMessage.objects.exists()
    assert not DeadLetter.objects.exists()
    assert_reports_stored_once(ingest, reports=3, readings=READINGS, marks=6)


def test_parts_are_slices_and_their_figures_add_up():
    columns = {0x5001: StreamColumns(1, "Num")}
    count = 5
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    readings = TimedReadings(
        streams=[0x5001] * count,
        reading_ids=list(range(1, count + 1)),
        device_timestamps=list(range(count)),
        timestamps=[start] * count,
        int_values=list(range(count)),
        statuses=["cln"] * count,
        dirty=[False] * count,
    )
    rows = CopyRows(readings=readings, values=list(range(count)), stream_columns=columns)
    parts = rows.split(2)
    assert [list(part.readings.reading_ids) for part in parts] == [[1, 2, 3], [4, 5]]
    assert [list(part.values) for part in parts] == [[0, 1, 2], [3, 4]]
    assert [(part.first_id, part.last_id) for part in parts] == [(1, 3), (4, 5)]
    assert rows.split(1)[0].readings.reading_ids == [1, 2, 3, 4, 5]

    figures = combined([WriteResult(3, 0, 1, 3, already_written=True), WriteResult(1, 1, 5, 5, conflict_path=True)])
    assert figures == WriteResult(4, 1, 1, 5, conflict_path=True, already_written=False)
    assert combined([WriteResult(0, 2, 0, 0), WriteResult(0, 3, 0, 0)]).first_id == 0
