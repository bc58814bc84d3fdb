"""A worker process killed (SIGKILL) at several points of ProcessReport, then a new worker retrying: the rows,
the acknowledgement and the report's figures come out exactly as if nothing had happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from django.db.models.functions import Now

from server.apps.device.models import Device
from server.apps.stream.models import StreamId
from server.apps.stream.services import device_streams_ensure
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_row
from server.apps.streamer.models import IngestedReport, ReportStatus, Streamer, StreamerReport
from server.apps.streamer.tests.factories import RECEIVED_UTC, make_ingest, process, seconds, signed_report, stored
from server.apps.streamer.tests.run_crashing_worker import POINTS
from server.apps.worker.models import DeadLetter, QueueMessage, WorkerRun
from server.apps.worker.tests.conftest import REPO_ROOT, database_url

READINGS = 1000
SENT = 20_000
# Readings 1..1000 on two streams, ten seconds apart.
ROWS = [(10 * i, 0x5001 + i % 2, 7 * i, i) for i in range(1, READINGS + 1)]


@pytest.fixture
def worker_env(transactional_db, tmp_path) -> dict[str, str]:
    """A worker subprocess on this test's databases and stores (the folder stores live under tmp_path)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "server.config.settings.test",
        "DATABASE_URL": database_url("default"),
        "STREAMDATA_DATABASE_URL": database_url("streamdata"),
        "LOCAL_DATA_DIR": str(tmp_path),
        "WORKER_QUEUE": "postgres",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }


def crashing_worker(env: dict[str, str], point: str, *options: str) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "server.apps.streamer.tests.run_crashing_worker", point, "worker", "--burst", *options],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL, (process.returncode, process.stdout, process.stderr)


def expected_rows(ingest, ids) -> list[tuple]:
    base = RECEIVED_UTC - seconds(SENT)
    rows = [
        (ingest.stream_slug(0x5001 + i % 2), i, base + seconds(10 * i), 7 * i, float(7 * i), "cln", False, "Num")
        for i in ids
    ]
    return sorted(rows, key=lambda row: (row[0], row[1]))


def assert_reports_stored_once(ingest, *, reports: int, readings: int, marks: int) -> None:
    """After the retry: every reading of the streamer's consecutive reports stored once, each report with its own
    figures, ``last_id`` at the last reading, and ``marks`` part marks."""
    total = reports * readings
    assert stored() == expected_rows(ingest, range(1, total + 1))
    figures = list(
        StreamerReport.objects.order_by("original_first_id").values_list(
            "status", "new_reading_count", "duplicate_reading_count", "actual_first_id", "actual_last_id"
        )
    )
    assert figures == [
        (ReportStatus.SUCCESS, readings, 0, number * readings + 1, (number + 1) * readings) for number in range(reports)
    ]
    assert Streamer.objects.get().last_id == total
    assert IngestedReport.objects.count() == marks


# A worker of another machine: its death is told by its lease alone (a worker starting on the killed worker's own
# machine takes the message back at once, worker.identity).
ANOTHER_MACHINES_WORKER = "another-host:1:1:a1b2c3"


def retry_after_the_lease() -> None:
    """The killed worker never acknowledged its message nor renewed its lease: once the lease passes (made to pass
    here), a new worker takes it."""
    assert QueueMessage.objects.count() == 1
    QueueMessage.objects.update(available_at=Now(), claimed_by=ANOTHER_MACHINES_WORKER)
    retried()


def retry_at_restart() -> None:
    """A worker started on the killed worker's machine takes its message at once, its lease still running."""
    assert QueueMessage.objects.filter(available_at__gt=Now()).count() == 1
    retried()


def retried() -> None:
    stats = process()
    assert (stats.received, stats.succeeded) == (1, 1)
    assert not QueueMessage.objects.exists()
    assert not DeadLetter.objects.exists()


@pytest.mark.parametrize("retry", [retry_after_the_lease, retry_at_restart], ids=["after the lease", "at restart"])
@pytest.mark.parametrize("point", POINTS)
def test_a_killed_worker_leaves_nothing_lost_or_doubled(worker_env, folder_stores, point, retry):
    ingest = make_ingest()
    response = ingest.client.post(
        "/api/v1/streamer/report/?timestamp=" + RECEIVED_UTC.replace(tzinfo=None).isoformat(),
        {"file": _file(signed_report(ingest.device.id, ROWS, report_id=READINGS + 1, sent=SENT))},
        format="multipart",
    )
    assert response.status_code == 201, response.content

    crashing_worker(worker_env, point)
    data_committed = point in ("after_data_commit", "after_acknowledge")
    assert len(stored()) == (READINGS if data_committed else 0)
    assert IngestedReport.objects.count() == (1 if data_committed else 0)
    acknowledged = point == "after_acknowledge"
    assert Streamer.objects.get().last_id == (READINGS if acknowledged else 0)
    assert StreamerReport.objects.get().status == (ReportStatus.SUCCESS if acknowledged else ReportStatus.SCHEDULED)

    retry()
    assert stored() == expected_rows(ingest, range(1, READINGS + 1))
    report = StreamerReport.objects.get()
    assert (report.status, report.new_reading_count, report.duplicate_reading_count) == (
        ReportStatus.SUCCESS,
        READINGS,
        0,
    )
    assert (report.actual_first_id, report.actual_last_id) == (1, READINGS)
    assert Streamer.objects.get().last_id == READINGS
    assert IngestedReport.objects.count() == 1
    assert WorkerRun.objects.filter(action="ProcessReport", status="success").count() == 1


@pytest.mark.parametrize("point", ["mid_copy", "before_data_commit"])
def test_a_killed_worker_on_the_conflict_safe_path(worker_env, folder_stores, point):
    """The report overlaps readings stored already (ids 1..300 of the first stream), so the rows go through the
    temporary table and INSERT … ON CONFLICT; killed there, the retry still adds exactly the missing ones."""
    ingest = make_ingest()
    overlap = [i for i in range(1, 301) if i % 2 == 0]
    device_streams_ensure(device=ingest.device, lids=[0x5001])
    series = StreamId.objects.get(slug=ingest.stream_slug(0x5001)).series
    stream_data_bulk_insert(
        rows=[
            stream_data_row(
                series=series,
                timestamp=RECEIVED_UTC - seconds(SENT) + seconds(10 * i),
                value=float(7 * i),
                int_value=7 * i,
                streamer_local_id=i,
                status="cln",
            )
            for i in overlap
        ]
    )
    response = ingest.client.post(
        "/api/v1/streamer/report/?timestamp=" + RECEIVED_UTC.replace(tzinfo=None).isoformat(),
        {"file": _file(signed_report(ingest.device.id, ROWS, report_id=READINGS + 1, sent=SENT))},
        format="multipart",
    )
    assert response.status_code == 201

    crashing_worker(worker_env, point)
    assert len(stored()) == len(overlap)

    retry_after_the_lease()
    assert stored() == expected_rows(ingest, range(1, READINGS + 1))
    report = StreamerReport.objects.get()
    assert (report.new_reading_count, report.duplicate_reading_count) == (READINGS - len(overlap), len(overlap))


@pytest.mark.parametrize("point", POINTS)
def test_a_worker_killed_in_the_middle_of_a_batch(worker_env, folder_stores, point):
    """Three consecutive reports in one batch; the worker dies at the second (the third's write may be in flight).
    The retry leaves every reading stored once and every report's figures as if nothing had happened."""
    ingest = make_ingest()
    upload_three_reports(ingest)

    crashing_worker(worker_env, f"{point}@2", "--batch-size", "3")
    # The first report's message is acknowledged unless the crash (in the writer's thread, for the copy points)
    # came first; the second's and third's are not.
    left = QueueMessage.objects.count()
    assert left in (2, 3)

    QueueMessage.objects.update(available_at=Now())
    stats = process()
    assert (stats.received, stats.succeeded) == (left, left)
    assert not QueueMessage.objects.exists()
    assert not DeadLetter.objects.exists()
    assert_reports_stored_once(ingest, reports=3, readings=READINGS, marks=3)


def upload_three_reports(ingest) -> None:
    """Three consecutive reports of one streamer: ids 1..1000, 1001..2000, 2001..3000."""
    for number in range(3):
        rows = [(10 * i, 0x5001 + i % 2, 7 * i, i) for i in range(number * READINGS + 1, (number + 1) * READINGS + 1)]
        response = ingest.client.post(
            "/api/v1/streamer/report/?timestamp=" + RECEIVED_UTC.replace(tzinfo=None).isoformat(),
            {"file": _file(signed_report(ingest.device.id, rows, report_id=(number + 1) * READINGS + 1, sent=SENT))},
            format="multipart",
        )
        assert response.status_code == 201, response.content


@pytest.mark.parametrize("point", POINTS)
def test_later_reports_processed_ahead_of_a_stranded_one_are_not_acknowledged_past_it(worker_env, folder_stores, point):
    """The worker dies on the first of three reports; while its claim still runs, another worker processes the two
    later ones. Their readings are committed, but ``last_id`` stays below the stranded report's first id (a device
    drops what is acknowledged) until that report is committed; then it covers all three."""
    ingest = make_ingest()
    upload_three_reports(ingest)

    crashing_worker(worker_env, point, "--batch-size", "1")
    assert QueueMessage.objects.filter(claimed_at__isnull=False).count() == 1
    QueueMessage.objects.update(claimed_by=ANOTHER_MACHINES_WORKER)  # else this machine's next worker takes it at once
    stats = process()  # the stranded report's message is still claimed: only the later two are taken
    assert (stats.received, stats.succeeded) == (2, 2)
    data_committed = point in ("after_data_commit", "after_acknowledge")
    ids = range(1 if data_committed else READINGS + 1, 3 * READINGS + 1)
    assert stored() == expected_rows(ingest, ids)
    first = StreamerReport.objects.get(original_first_id=1)
    assert first.status == (ReportStatus.SUCCESS if point == "after_acknowledge" else ReportStatus.SCHEDULED)
    # Acknowledged past the first report only once its acknowledgement committed; else not at all.
    assert Streamer.objects.get().last_id == (3 * READINGS if point == "after_acknowledge" else 0)
    assert Device.objects.get(pk=ingest.device.pk).last_known_id == Streamer.objects.get().last_id

    retry_after_the_lease()
    assert stored() == expected_rows(ingest, range(1, 3 * READINGS + 1))
    assert set(StreamerReport.objects.values_list("status", flat=True)) == {ReportStatus.SUCCESS}
    assert Streamer.objects.get().last_id == 3 * READINGS


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("report.bin", data)
