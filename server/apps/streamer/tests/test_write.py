"""The write path on its own: binary COPY rows, the fast and conflict-safe paths, and the commit mark."""

from __future__ import annotations

import datetime
import uuid

import pytest

from server.apps.streamdata.models import StreamData
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_row
from server.apps.streamer import writer
from server.apps.streamer.copy_rows import CopyRows, StreamColumns
from server.apps.streamer.jobs import IngestedReportCleanup
from server.apps.streamer.models import IngestedReport, ReportStatus
from server.apps.streamer.reports.timestamps import TimedReadings
from server.apps.streamer.services.housekeeping import ingested_reports_delete_older_than
from server.apps.streamer.tests.factories import make_ingest, make_report, make_streamer
from server.apps.streamer.writer import streamdata_write
from server.apps.worker.queue import enqueue
from server.apps.worker.runner import run_worker

T0 = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)
# The series ids of two streams (the write path needs no StreamId: the caller has the ids).
SERIES = 7
COLUMNS = {0x5001: StreamColumns(SERIES, "Num"), 0x5002: StreamColumns(SERIES + 1, "ITR")}


def copy_rows(ids, *, stream=0x5001, device_timestamps=None, values=None, statuses=None, columns=COLUMNS):
    ids = list(ids)
    count = len(ids)
    statuses = statuses or ["cln"] * count
    readings = TimedReadings(
        streams=[stream] * count,
        reading_ids=ids,
        device_timestamps=device_timestamps if device_timestamps is not None else [10 * i for i in ids],
        timestamps=[T0 + datetime.timedelta(seconds=10 * i) for i in ids],
        int_values=[100 + i for i in ids],
        statuses=statuses,
        dirty=[status in ("drt", "unk") for status in statuses],
    )
    return CopyRows(
        readings=readings, values=values if values is not None else [100 + i for i in ids], stream_columns=columns
    )


def write(rows, report_id=None):
    return streamdata_write(report_id=report_id or uuid.uuid4(), streamer_id=1, streamer_slug="t--x", rows=rows)


def rows_stored():
    return list(
        StreamData.objects.order_by("streamer_local_id", "id").values_list(
            "series",
            "type",
            "device_timestamp",
            "timestamp",
            "streamer_local_id",
            "int_value",
            "value",
            "status",
            "dirty_ts",
        )
    )


def test_fast_path_stores_every_column(db):
    result = write(copy_rows([1, 2, 3], values=[1.5, 2, -3.25], statuses=["cln", "drt", "utc"]))
    assert (result.new_reading_count, result.duplicate_reading_count, result.first_id, result.last_id) == (3, 0, 1, 3)
    assert not result.conflict_path
    constant = (SERIES, "Num")
    assert rows_stored() == [
        (*constant, 10, T0 + datetime.timedelta(seconds=10), 1, 101, 1.5, "cln", False),
        (*constant, 20, T0 + datetime.timedelta(seconds=20), 2, 102, 2.0, "drt", True),
        (*constant, 30, T0 + datetime.timedelta(seconds=30), 3, 103, -3.25, "utc", False),
    ]


def test_many_chunks(db):
    result = write(copy_rows(range(1, 5001)))
    assert result.new_reading_count == 5000
    assert StreamData.objects.count() == 5000
    assert StreamData.objects.get(streamer_local_id=4321).timestamp == T0 + datetime.timedelta(seconds=43210)


def test_unknown_device_timestamps_take_the_general_encoding(db):
    columns = {**COLUMNS, 0x5003: StreamColumns(SERIES + 2, "Num")}
    rows = copy_rows([1, 2], device_timestamps=[None, 7], columns=columns, stream=0x5003)
    write(rows)
    assert [(row[0], row[1], row[2], row[4]) for row in rows_stored()] == [
        (SERIES + 2, "Num", None, 1),
        (SERIES + 2, "Num", 7, 2),
    ]


def test_a_report_written_before_is_not_written_again(db):
    report_id = uuid.uuid4()
    # Readings without a streamer id: no unique index protects them, the mark does.
    rows = copy_rows([0, 0, 0])
    first = write(rows, report_id)
    again = write(rows, report_id)
    assert first.new_reading_count == again.new_reading_count == 3
    assert again.already_written
    assert StreamData.objects.count() == 3
    assert IngestedReport.objects.get().report_id == report_id


def test_overlapping_rows_take_the_conflict_safe_path(db):
    stored = [stream_data_row(series=SERIES, timestamp=T0, value=0.0, streamer_local_id=i) for i in (2, 4)]
    stream_data_bulk_insert(rows=stored)
    result = write(copy_rows([1, 2, 3, 4, 5]))
    assert result.conflict_path
    assert (result.new_reading_count, result.duplicate_reading_count, result.first_id, result.last_id) == (3, 2, 1, 5)
    assert [row[4] for row in rows_stored()] == [1, 2, 3, 4, 5]
    assert StreamData.objects.get(streamer_local_id=2).value == 0.0  # the stored reading stays as it was


def test_a_conflict_the_probe_missed_falls_back_to_the_conflict_safe_path(db, monkeypatch):
    """A reading stored with the same time between the probe and the COPY (the probe runs under the write's claims,
    so only a writer that takes none could) makes the straight COPY fail on the unique index; the write starts
    again on the conflict-safe path."""
    same_time = T0 + datetime.timedelta(seconds=30)
    stream_data_bulk_insert(rows=[stream_data_row(series=SERIES, timestamp=same_time, value=0.0, streamer_local_id=3)])
    monkeypatch.setattr(writer, "_lock_then_look", lambda cursor, streamer_id, report_id, part, rows: (False, False))
    result = write(copy_rows([1, 2, 3]))
    assert result.conflict_path
    assert (result.new_reading_count, result.duplicate_reading_count) == (2, 1)
    assert [row[4] for row in rows_stored()] == [1, 2, 3]


def test_nothing_to_write_still_marks_the_report(db):
    result = write(copy_rows([]))
    assert (result.new_reading_count, result.first_id, result.last_id) == (0, 0, 0)
    assert IngestedReport.objects.count() == 1


@pytest.mark.parametrize("value", [float("inf"), 1e300, -0.0])
def test_doubles_travel_exactly(db, value):
    write(copy_rows([1], values=[value]))
    assert StreamData.objects.get().value == value


def test_old_marks_of_processed_reports_are_dropped(db):
    streamer = make_streamer(make_ingest().device)
    done, failed = make_report(streamer, status=ReportStatus.SUCCESS), make_report(streamer, status=ReportStatus.FAILED)
    long_ago = T0 - datetime.timedelta(days=40)
    for report_id in (done.pk, failed.pk, uuid.uuid4()):  # the third report no longer exists
        IngestedReport.objects.create(report_id=report_id, streamer_slug=streamer.slug, created_on=long_ago)
    recent = IngestedReport.objects.create(report_id=uuid.uuid4(), streamer_slug=streamer.slug)
    assert ingested_reports_delete_older_than(days=30, batch_size=2) == 2
    assert set(IngestedReport.objects.values_list("report_id", flat=True)) == {failed.pk, recent.report_id}
    enqueue(IngestedReportCleanup.name, {"days": 30})
    assert run_worker(burst=True).succeeded == 1
