"""streamer/report/ while the reports store is out: a 503 with Retry-After that leaves nothing behind, so the same
upload succeeds later with the same count; and the worker retries a report it cannot read instead of failing it."""

from __future__ import annotations

from django.db.models.functions import Now

from server.apps.streamdata.models import StreamData
from server.apps.streamer.models import ReportStatus, Streamer, StreamerReport
from server.apps.streamer.tests.factories import assert_report_stored, make_ingest, process, signed_report, upload
from server.apps.worker.models import DeadLetter, QueueMessage, WorkerRun

ROWS = [(10 * i, 0x5001, 100 + i, i) for i in range(1, 11)]
UNAVAILABLE = "The file store 'streamer-reports' is unavailable: the file could not be saved. Try again later."


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.content
    assert response.json() == {"detail": UNAVAILABLE}
    assert response["Retry-After"] == "30"


def test_an_upload_during_an_outage_is_a_503_that_leaves_nothing(db, store_outage):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS, report_id=11)
    store_outage.start("streamer-reports")

    assert_unavailable(upload(ingest.client, data))
    assert not Streamer.objects.exists()  # the new streamer is rolled back with the rest
    assert not StreamerReport.objects.exists()
    assert not QueueMessage.objects.exists()

    store_outage.end()
    assert_report_stored(upload(ingest.client, data), data, count=10)
    assert StreamerReport.objects.count() == QueueMessage.objects.count() == 1
    process()
    assert StreamerReport.objects.get().status == ReportStatus.SUCCESS
    assert StreamData.objects.count() == 10


def test_an_outage_leaves_a_known_streamer_as_it_was(db, store_outage):
    ingest = make_ingest()
    first = signed_report(ingest.device.id, ROWS, report_id=11, selector=0xD7FF)
    assert_report_stored(upload(ingest.client, first), first, count=10)
    process()
    overlapping = signed_report(ingest.device.id, [(10 * i, 0x5001, i, i) for i in range(6, 16)], selector=0x5FFF)
    store_outage.start("streamer-reports")

    assert_unavailable(upload(ingest.client, overlapping))
    streamer = Streamer.objects.get()
    assert (streamer.last_id, streamer.selector) == (10, 0xD7FF)  # the selector change is rolled back too
    assert StreamerReport.objects.count() == 1

    assert not QueueMessage.objects.exists()  # the first report's message was consumed; none for the refused one

    store_outage.end()
    report = assert_report_stored(upload(ingest.client, overlapping), overlapping, count=5)
    assert (report.streamer.selector, report.last_id_at_upload) == (0x5FFF, 10)


def test_the_worker_retries_a_report_it_cannot_read(db, store_read_outage):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS)
    assert_report_stored(upload(ingest.client, data), data, count=10)
    store_read_outage.start("streamer-reports")

    stats = process()
    assert (stats.received, stats.succeeded, stats.retried) == (1, 0, 1)
    run = WorkerRun.objects.get()
    assert (run.status, run.action) == ("retry", "ProcessReport")
    assert "StoreUnavailableError" in run.error
    report = StreamerReport.objects.get()
    assert (report.status, report.error) == (ReportStatus.SCHEDULED, "")  # not failed: the file is not lost
    assert not DeadLetter.objects.exists()
    assert QueueMessage.objects.get().attempts == 1

    store_read_outage.end()
    QueueMessage.objects.update(available_at=Now())  # the backoff, made to pass
    process()
    assert StreamerReport.objects.get().status == ReportStatus.SUCCESS
    assert StreamData.objects.count() == 10
    assert not QueueMessage.objects.exists()


def test_a_malformed_upload_during_an_outage_is_still_a_400(db, store_outage, caplog):
    """The refused file cannot be kept for inspection while the store is out: the client still gets its 400, and
    the log says why the copy is missing, without a traceback."""
    ingest = make_ingest()
    truncated = signed_report(ingest.device.id, ROWS, report_id=11)[:-5]
    store_outage.start("streamer-reports")
    response = upload(ingest.client, truncated)
    assert response.status_code == 400, response.content
    assert "truncated" in response.json()["detail"]
    kept = [record for record in caplog.records if "could not keep the refused report" in record.getMessage()]
    assert [(record.levelname, record.exc_info) for record in kept] == [("WARNING", None)]
    assert "is unavailable" in kept[0].getMessage()
