"""Reports processed a batch at a time (the worker's batch size): each report's write overlaps the loading of the
next one, and what is stored is exactly what processing them one by one stores."""

from __future__ import annotations

import datetime

from server.apps.core.testing import assert_query_count
from server.apps.device.models import Device, DeviceState
from server.apps.streamer.jobs import ProcessReport
from server.apps.streamer.models import IngestedReport, ReportStatus, Streamer, StreamerReport
from server.apps.streamer.services.processing import streamer_reports_process
from server.apps.streamer.tests.factories import (
    RECEIVED_UTC,
    USER_KEY,
    make_ingest,
    seconds,
    signed_report,
    stored,
    upload,
)
from server.apps.worker.models import DeadLetter, QueueMessage
from server.apps.worker.queue import enqueue
from server.apps.worker.runner import run_worker

STREAMS = (0x5001, 0x5002)


def uploaded(ingest, data: bytes, minutes: int = 0) -> str:
    moment = RECEIVED_UTC + datetime.timedelta(minutes=minutes)
    response = upload(ingest.client, data, timestamp=moment.replace(tzinfo=None).isoformat())
    assert response.status_code == 201, response.content
    return response.json()["id"]


def block_report(ingest, number: int, size: int = 100) -> bytes:
    """Readings ``number * size + 1`` … ``(number + 1) * size``, alternating between the two streams."""
    ids = range(number * size + 1, (number + 1) * size + 1)
    rows = [(10 * i, STREAMS[i % 2], 3 * i, i) for i in ids]
    return signed_report(ingest.device.id, rows, report_id=ids[-1] + 1, sent=10_000)


def upload_blocks(ingest, count: int = 3) -> list[str]:
    return [uploaded(ingest, block_report(ingest, number), minutes=number) for number in range(count)]


def rows_of(ingest) -> dict[int, list[tuple]]:
    """The device's rows without their slugs, by stream."""
    return {lid: [row[1:] for row in stored(ingest.stream_slug(lid))] for lid in STREAMS}


def figures(report_ids: list[str]) -> list[tuple]:
    fields = ("status", "new_reading_count", "duplicate_reading_count", "actual_first_id", "actual_last_id")
    by_id = {str(row["id"]): tuple(row[f] for f in fields) for row in StreamerReport.objects.values("id", *fields)}
    return [by_id[report_id] for report_id in report_ids]


def test_a_batch_stores_exactly_what_one_by_one_stores(db):
    one_by_one, batched = make_ingest(), make_ingest()
    sequential_ids = upload_blocks(one_by_one)
    assert run_worker(burst=True, batch_size=1).succeeded == 3
    batched_ids = upload_blocks(batched)
    stats = run_worker(burst=True, batch_size=10)
    assert (stats.received, stats.succeeded, stats.retried, stats.dead) == (3, 3, 0, 0)

    assert rows_of(batched) == rows_of(one_by_one)
    assert [row[0] for row in rows_of(batched)[0x5001]] == list(range(2, 301, 2))
    expected = [(ReportStatus.SUCCESS, 100, 0, 100 * n + 1, 100 * (n + 1)) for n in range(3)]
    assert figures(batched_ids) == figures(sequential_ids) == expected
    assert Streamer.objects.get(device=batched.device).last_id == 300
    assert Device.objects.get(pk=batched.device.pk).last_known_id == 300
    assert IngestedReport.objects.filter(report_id__in=batched_ids).count() == 3


def test_reports_of_several_devices_in_one_batch(db):
    first, second = make_ingest(), make_ingest()
    ids = []
    for number in range(2):
        ids.append(uploaded(first, block_report(first, number), minutes=number))
        ids.append(uploaded(second, block_report(second, number), minutes=number))
    assert run_worker(burst=True, batch_size=10).succeeded == 4
    assert rows_of(first) == rows_of(second)
    assert [len(rows) for rows in rows_of(first).values()] == [100, 100]
    assert [f[1] for f in figures(ids)] == [100, 100, 100, 100]


def test_a_failing_report_in_a_batch_leaves_the_others_alone(db):
    ingest = make_ingest()
    good = uploaded(ingest, block_report(ingest, 0))
    # Encrypted with a user key the platform does not have: it fails with the reason.
    rows = [(10 * i, 0x5001, i, i) for i in range(101, 111)]
    keyed = uploaded(ingest, signed_report(ingest.device.id, rows, report_id=111, user_key=USER_KEY), minutes=1)
    later = uploaded(ingest, block_report(ingest, 2), minutes=2)
    stats = run_worker(burst=True, batch_size=10)
    assert (stats.received, stats.succeeded, stats.dead) == (3, 2, 1)
    status = dict(StreamerReport.objects.values_list("id", "status"))
    assert [status[StreamerReport.objects.get(pk=pk).pk] for pk in (good, keyed, later)] == [
        ReportStatus.SUCCESS,
        ReportStatus.FAILED,
        ReportStatus.SUCCESS,
    ]
    assert "no user key is known" in StreamerReport.objects.get(pk=keyed).error
    assert DeadLetter.objects.get().arguments == {"report_id": keyed}
    stored_ids = sorted(row[0] for rows in rows_of(ingest).values() for row in rows)
    assert stored_ids == [*range(1, 101), *range(201, 301)]


def test_a_reboot_report_behind_a_report_of_its_streamer_in_the_batch(db):
    """Readings before a reboot are placed with the previous report's time base: in a batch, the previous report
    is finished first, so the result is the one-by-one result (test_process's reboot test)."""
    ingest = make_ingest()
    uploaded(ingest, signed_report(ingest.device.id, [(900, 0x5001, 1, 1)], report_id=2, sent=1000))
    rows = [(1100, 0x5001, 2, 10), (0, 0x5C00, 1, 11), (5, 0x5001, 3, 12)]
    uploaded(ingest, signed_report(ingest.device.id, rows, report_id=13, sent=50), minutes=10)
    assert run_worker(burst=True, batch_size=10).succeeded == 2
    base1, base2 = RECEIVED_UTC - seconds(1000), RECEIVED_UTC + datetime.timedelta(minutes=10) - seconds(50)
    assert [row[1:3] + row[5:7] for row in stored(ingest.stream_slug(0x5001))] == [
        (1, base1 + seconds(900), "cln", False),
        (10, base1 + seconds(1100), "cln", False),
        (12, base2 + seconds(5), "cln", False),
    ]


def test_the_same_report_twice_in_one_batch_is_stored_once(db):
    ingest = make_ingest()
    data = block_report(ingest, 0)
    first, again = uploaded(ingest, data), uploaded(ingest, data, minutes=1)
    assert run_worker(burst=True, batch_size=10).succeeded == 2
    assert [len(rows) for rows in rows_of(ingest).values()] == [50, 50]
    assert figures([first, again]) == [(ReportStatus.SUCCESS, 100, 0, 1, 100), (ReportStatus.SUCCESS, 0, 100, 0, 0)]


def test_a_batch_closed_with_a_write_in_flight_leaves_it_to_the_retry(db):
    ingest = make_ingest()
    ids = upload_blocks(ingest)
    outcomes = streamer_reports_process(report_ids=ids)
    # The first outcome comes once the second report's write has started: close the batch with it in flight.
    assert next(outcomes) == (0, None)
    outcomes.close()
    assert StreamerReport.objects.get(pk=ids[1]).status == ReportStatus.SCHEDULED
    # Cancelled and rolled back, or committed just before the cancel: either way the retry stores it once.
    assert IngestedReport.objects.count() in (1, 2)
    assert list(streamer_reports_process(report_ids=ids)) == [(0, None), (1, None), (2, None)]
    assert sorted(row[0] for rows in rows_of(ingest).values() for row in rows) == list(range(1, 301))
    assert [f[:3] for f in figures(ids)] == [(ReportStatus.SUCCESS, 100, 0)] * 3


def test_batch_query_counts(db):
    ingest = make_ingest()
    uploaded(ingest, block_report(ingest, 0))
    run_worker(burst=True)  # makes the device's streams
    ids = [uploaded(ingest, block_report(ingest, number), minutes=number) for number in range(1, 5)]
    # Default: the delivery mark, the reports, the device's streams (once a batch), then an acknowledgement per
    # report (the savepoint, the report's figures under the streamer's lock, the streamer and the device, the
    # release).
    # Streamdata, per report: the savepoint, the lock with the mark and overlap probe, the COPY, the roll-ups with
    # the mark, the release.
    with assert_query_count(3 + 4 * 4), assert_query_count(5 * 4, using="streamdata"):
        assert [error for _, error in streamer_reports_process(report_ids=ids)] == [None] * 4
    assert len(stored()) == 500


def test_a_report_of_a_device_being_archived_is_stored_at_once(db):
    """Archiving touches no data row, so nothing waits for it; a message queued by the former retry path (with
    ``busy_tries``) is still taken."""
    ingest = make_ingest()
    report_id = uploaded(ingest, block_report(ingest, 0))
    QueueMessage.objects.all().delete()
    enqueue(ProcessReport.name, {"report_id": report_id, "busy_tries": 3})
    Device.objects.filter(pk=ingest.device.pk).update(state=DeviceState.ARCHIVING)
    stats = run_worker(burst=True)
    assert (stats.succeeded, stats.retried, stats.dead) == (1, 0, 0)
    assert not QueueMessage.objects.exists()
    assert StreamerReport.objects.get(pk=report_id).status == ReportStatus.SUCCESS
    assert len(stored()) == 100


def test_a_message_naming_no_report_fails_alone(db):
    ingest = make_ingest()
    report_id = uploaded(ingest, block_report(ingest, 0))
    enqueue(ProcessReport.name, {"report_id": "not-a-report"})
    enqueue(ProcessReport.name, {"report_id": "6f1b4c0e-2f0a-4b8e-9d51-5a7e0c1d2b3a"})
    stats = run_worker(burst=True, batch_size=10)
    assert (stats.received, stats.succeeded, stats.dead) == (3, 1, 2)
    assert StreamerReport.objects.get(pk=report_id).status == ReportStatus.SUCCESS
    assert sorted(DeadLetter.objects.values_list("error", flat=True)) == [
        "PermanentError: report 6f1b4c0e-2f0a-4b8e-9d51-5a7e0c1d2b3a does not exist",
        "PermanentError: report not-a-report does not exist",
    ]
