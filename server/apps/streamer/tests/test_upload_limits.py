"""Upload limits: a file or body over its limit is a 413 while it streams, and nothing of it is kept; a malformed
upload within the limit is kept for diagnosis under a quota, and the daily cleanup drops old ones."""

from __future__ import annotations

import datetime
import http.client
import tracemalloc
import urllib.parse

import pytest
from django.utils import timezone

from server.apps.authentication.authentication import jwt_encode
from server.apps.core.testing import api_client, make_member
from server.apps.org.roles import OWNER
from server.apps.stores.selectors import store_file_list
from server.apps.streamer.jobs import RejectedReportCleanup
from server.apps.streamer.models import RejectedReport, StreamerReport
from server.apps.streamer.services.housekeeping import rejected_reports_delete_older_than
from server.apps.streamer.tests.factories import (
    RECEIVED,
    assert_report_stored,
    make_ingest,
    signed_report,
    upload,
)
from server.apps.worker.models import QueueMessage
from server.apps.worker.queue import enqueue
from server.apps.worker.runner import run_worker

ROWS = [(10 * i, 0x5001, 100 + i, i) for i in range(1, 11)]
MB = 1024 * 1024


def error_files() -> list[str]:
    return store_file_list(store="streamer-reports", prefix="errors/")


def assert_nothing_kept() -> None:
    assert not StreamerReport.objects.exists()
    assert not QueueMessage.objects.exists()
    assert not RejectedReport.objects.exists()
    assert error_files() == []


def test_a_file_one_byte_over_the_limit_is_a_413_and_nothing_is_kept(db, settings):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS)
    settings.UPLOAD_MAX_FILE_BYTES = len(data) - 1
    response = upload(ingest.client, data)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("report.bin: larger than the ")
    assert response.json()["file"]
    assert_nothing_kept()

    settings.UPLOAD_MAX_FILE_BYTES = len(data)
    assert_report_stored(upload(ingest.client, data), data, count=10)


def test_a_body_over_the_limit_is_refused_before_it_is_read(db, settings):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS)
    settings.UPLOAD_MAX_BODY_BYTES = len(data)  # the multipart framing makes the body longer than the file
    response = upload(ingest.client, data)
    assert response.status_code == 413
    assert "is larger than the" in response.json()["detail"]
    assert_nothing_kept()


def test_a_malformed_upload_within_the_limit_is_kept_under_the_quota(db, settings):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS)
    bad_signature = data[:-4] + bytes(4)  # the device is known: its organisation's quota
    truncated = data[:30]  # the header names no device: the uploader's own quota
    settings.REJECTED_REPORT_QUOTA_BYTES = len(bad_signature) + len(truncated)

    assert upload(ingest.client, bad_signature).status_code == 400
    assert upload(ingest.client, truncated).status_code == 400
    kept = {(r.org_id, r.created_by_id, r.file_size) for r in RejectedReport.objects.all()}
    assert kept == {(ingest.org.pk, ingest.user.pk, len(bad_signature)), (None, ingest.user.pk, len(truncated))}
    assert len(error_files()) == 4  # each file and its reason

    # The organisation has room for `truncated` only: a second bad report of its device is answered, not kept.
    other_member = make_member(ingest.org, OWNER)
    assert upload(api_client(other_member), bad_signature).status_code == 400
    assert RejectedReport.objects.filter(org=ingest.org).count() == 1
    # The account's own quota still has room for one truncated file, the store's as a whole does not.
    settings.REJECTED_REPORT_STORE_QUOTA_BYTES = len(bad_signature) + len(truncated)
    assert upload(ingest.client, truncated).status_code == 400
    assert RejectedReport.objects.count() == 2
    assert len(error_files()) == 4


def test_old_rejected_reports_are_cleaned_up(db, settings):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS)[:30]
    for _ in range(3):
        assert upload(ingest.client, data).status_code == 400
    old = list(RejectedReport.objects.order_by("pk")[:2])
    RejectedReport.objects.filter(pk__in=[r.pk for r in old]).update(
        created_on=timezone.now() - datetime.timedelta(days=settings.REJECTED_REPORT_RETENTION_DAYS + 1)
    )
    enqueue(RejectedReportCleanup.name, {})
    assert run_worker(burst=True).succeeded == 1
    remaining = RejectedReport.objects.get()
    assert sorted(error_files()) == sorted([remaining.file_key, f"{remaining.file_key}.reason.txt"])
    assert rejected_reports_delete_older_than(days=0) == 1
    assert error_files() == []


def _post_streamed(url: str, headers: dict[str, str], parts: list[tuple[bytes, int]]) -> tuple[int, bytes]:
    """POST a body made of ``(chunk, times)`` pieces over a real socket, never holding it whole."""
    target = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
    length = sum(len(chunk) * times for chunk, times in parts)
    connection.putrequest("POST", f"{target.path}?{target.query}")
    for name, value in {**headers, "Content-Length": str(length)}.items():
        connection.putheader(name, value)
    connection.endheaders()
    try:
        for chunk, times in parts:
            for _ in range(times):
                connection.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed before the end: read its answer
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


@pytest.mark.live
@pytest.mark.parametrize(
    ("case", "file_size"),
    [("file one byte over the limit", 32 * MB + 1), ("body far over the limit", 200 * MB)],
)
def test_oversized_uploads_over_a_real_socket_are_never_held_in_memory(live_server, db, case, file_size):
    """Through the development server's own WSGI handler (what ``inv run-local`` runs): the answer is a 413 and the
    server's Python allocations stay far below the upload's size (tracemalloc's peak)."""
    ingest = make_ingest()
    boundary = "limits-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="report.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = bytes(MB)
    parts = [(head, 1), (block, file_size // MB), (bytes(file_size % MB), 1), (tail, 1)]
    headers = {
        "Authorization": f"jwt {jwt_encode(ingest.user)}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    tracemalloc.start()
    try:
        status, body = _post_streamed(
            f"{live_server.url}/api/v1/streamer/report/?timestamp={RECEIVED.isoformat()}", headers, parts
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"{case}: {file_size / MB:.1f} MB uploaded, peak Python allocations {peak / MB:.1f} MB")
    assert status == 413, body
    assert peak < 8 * MB
    assert_nothing_kept()
