"""Reports whose queue message was lost (SQS: the process died between the upload's commit and the send) are queued
again by the periodic sweep, against a real moto_server SQS queue, and never while their message may still live:
waiting in the queue, in flight, or waiting for its retry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from server.apps.streamer.models import ReportStatus, StreamerReport
from server.apps.streamer.services.housekeeping import reports_stalled_requeue, stalled_report_wait_seconds
from server.apps.streamer.tests.factories import RECEIVED, make_ingest, signed_report, stored, upload
from server.apps.worker.models import DeadLetter
from server.apps.worker.runner import run_worker
from server.apps.worker.transports import get_transport
from server.apps.worker.transports.sqs import SqsTransport

ROWS = [(10 * i, 0x5001, i, i) for i in range(1, 21)]


@pytest.fixture
def sqs(settings, moto_server, monkeypatch) -> SqsTransport:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_server.secret_key)
    name = f"reports-{uuid.uuid4().hex[:12]}"
    moto_server.client("sqs").create_queue(QueueName=name)
    settings.WORKER_QUEUE = "sqs"
    settings.WORKER_SQS_QUEUE_NAME = name
    settings.WORKER_SQS_ENDPOINT_URL = moto_server.endpoint_url
    settings.WORKER_SQS_REGION = moto_server.region
    transport = get_transport()
    assert isinstance(transport, SqsTransport)
    return transport


def lost_upload(ingest) -> StreamerReport:
    """An upload whose commit happened and whose message was never sent (its after-commit send is dropped)."""
    with TestCase.captureOnCommitCallbacks(execute=False):
        response = ingest.client.post(
            f"/api/v1/streamer/report/?timestamp={RECEIVED.isoformat()}",
            {"file": _file(signed_report(ingest.device.id, ROWS, report_id=30))},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    return StreamerReport.objects.get(pk=response.json()["id"])


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("report.bin", data)


def sweep() -> int:
    with TestCase.captureOnCommitCallbacks(execute=True):  # the SQS send after the sweep's commit
        return reports_stalled_requeue()


def age(report, seconds: float) -> None:
    StreamerReport.objects.filter(pk=report.pk).update(created_on=timezone.now() - timedelta(seconds=seconds))


def test_a_lost_message_is_queued_again_once_and_the_readings_stored_once(db, sqs):
    ingest = make_ingest()
    report = lost_upload(ingest)
    assert sqs.depth().total == 0
    wait = stalled_report_wait_seconds()
    assert wait >= 1800 + 540  # longer than ProcessReport's longest backoff plus its time limit

    age(report, wait - 60)
    assert sweep() == 0  # not yet: a message could still be waiting for its retry
    age(report, wait + 60)
    assert sweep() == 1
    assert sqs.depth().ready == 1
    assert sweep() == 0  # its new message is in the queue: not doubled
    [message] = sqs.receive(wait=1)
    assert message.arguments == {"report_id": str(report.pk)}
    sqs.release(message)

    run_worker(burst=True)
    assert StreamerReport.objects.get(pk=report.pk).status == ReportStatus.SUCCESS
    assert len(stored()) == len(ROWS)
    assert sweep() == 0
    assert sqs.depth().total == 0


def test_a_message_delivered_lately_or_a_requeue_holds_the_report_for_another_wait(db, sqs):
    ingest = make_ingest()
    report = lost_upload(ingest)
    wait = stalled_report_wait_seconds()
    age(report, wait * 3)
    # A worker received its message a minute ago (in flight, or waiting for its retry): left alone.
    StreamerReport.objects.filter(pk=report.pk).update(message_seen_on=timezone.now() - timedelta(seconds=60))
    assert sweep() == 0
    # Long after that delivery and nothing left of the message: queued again, which is itself the next lease.
    StreamerReport.objects.filter(pk=report.pk).update(message_seen_on=timezone.now() - timedelta(seconds=wait + 60))
    assert sweep() == 1
    [message] = sqs.receive(wait=1)
    sqs.ack(message)  # lost again
    assert sweep() == 0  # requeued just now: another full wait first
    assert StreamerReport.objects.get(pk=report.pk).message_seen_on > timezone.now() - timedelta(seconds=60)


def test_a_backlog_or_a_dead_letter_holds_the_sweep(db, sqs):
    ingest = make_ingest()
    report = lost_upload(ingest)
    age(report, stalled_report_wait_seconds() * 2)
    sqs.send("Other", {})  # a backlog may hold the report's message: wait for it to drain
    assert sweep() == 0
    [other] = sqs.receive(wait=1)
    sqs.ack(other)
    letter = DeadLetter.objects.create(action="ProcessReport", arguments={"report_id": str(report.pk)}, error="x")
    assert sweep() == 0  # staff requeue dead letters
    DeadLetter.objects.filter(pk=letter.pk).update(requeued_at=timezone.now())
    assert sweep() == 1


def test_processing_marks_each_delivery(db, settings):
    settings.WORKER_QUEUE = "postgres"
    ingest = make_ingest()
    response = upload(ingest.client, signed_report(ingest.device.id, ROWS, report_id=30))
    report = StreamerReport.objects.get(pk=response.json()["id"])
    assert report.message_seen_on is None
    run_worker(burst=True)
    assert StreamerReport.objects.get(pk=report.pk).message_seen_on is not None


def test_an_upload_whose_message_cannot_be_sent_is_stored_answered_and_recovered(db, sqs, settings, caplog):
    """SQS down at the send after the upload's commit: the upload still answers 201 (the report is stored), the
    loss is logged, and the sweep queues the report once it counts as stalled."""
    ingest = make_ingest()
    reachable = settings.WORKER_SQS_ENDPOINT_URL
    settings.WORKER_SQS_ENDPOINT_URL = "http://127.0.0.1:1"
    response = upload(ingest.client, signed_report(ingest.device.id, ROWS, report_id=30))
    assert response.status_code == 201, response.content
    assert "could not queue ProcessReport after the commit" in caplog.text
    report = StreamerReport.objects.get(pk=response.json()["id"])
    assert report.status == ReportStatus.SCHEDULED
    settings.WORKER_SQS_ENDPOINT_URL = reachable
    assert sqs.depth().total == 0
    age(report, stalled_report_wait_seconds() + 60)
    assert sweep() == 1
    run_worker(burst=True)
    assert StreamerReport.objects.get(pk=report.pk).status == ReportStatus.SUCCESS
    assert len(stored()) == len(ROWS)
