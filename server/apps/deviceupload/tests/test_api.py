"""upload/: a device asked for its files uploads them through the URL the platform answers (a signed link on
folder stores, an S3 presigned PUT on moto_server), reports its states, and the checksum decides; cancel; another
organisation's uploads; the device token's own endpoints."""

from __future__ import annotations

import hashlib
import urllib.request
from urllib.parse import urlsplit

import pytest
from django.test import Client

from server.apps.core.testing import ScopedEndpointCases, api_client
from server.apps.device.tests.factories import make_device, make_project
from server.apps.deviceupload.models import UPLOAD_STORE, DeviceUpload
from server.apps.deviceupload.tests.factories import LOG, make_trigger, make_upload
from server.apps.operation.models import DeviceOperation, OperationStatus
from server.apps.operation.tests.factories import device_client
from server.apps.org.roles import MEMBER
from server.apps.stores.selectors import store_file_exists, store_file_read

UPLOADS = "/api/v1/upload/"
REQUEST = f"{UPLOADS}request/"
STATUS = f"{UPLOADS}status/"
POLL = "/api/v1/operation/poll/"


class TestUploadEndpoint(ScopedEndpointCases):
    list_url = UPLOADS
    list_key = "id"
    write_method = None
    allowed_role = MEMBER
    denied_role = None
    list_query_count = 3

    @pytest.fixture(autouse=True)
    def _stores(self, folder_stores):
        return folder_stores

    def make_object(self, org):
        return make_upload(make_device(make_project(org)))

    def detail_url(self, obj) -> str:
        return f"{UPLOADS}{obj.id}/"


@pytest.fixture
def device(db, folder_stores):
    return make_device(make_project())


def sha256(content: bytes) -> str:
    return f"sha256:{hashlib.sha256(content).hexdigest()}"


def ask(client, trigger, content: bytes = LOG, number: int = 1, checksum: str | None = None):
    body = {
        "correlationId": f"{trigger.id}#{number}",
        "options": {"file.name": "logs/device.log", "file.checksum": checksum or sha256(content), "info.ticket": "7"},
    }
    return client.post(REQUEST, body, format="json")


def put(url: str, content: bytes) -> int:
    """The device's PUT: to this site through the test client, or to S3 (moto) over HTTP."""
    parts = urlsplit(url)
    if parts.hostname == "testserver":
        return Client().put(parts.path, content, content_type="application/octet-stream").status_code
    request = urllib.request.Request(
        url, data=content, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def report(client, correlation: str, state: str, **fields):
    return client.post(STATUS, {"correlationId": correlation, "state": state, **fields}, format="json")


def test_trigger_request_put_success_on_folder_stores(device):
    trigger = make_trigger(device)
    client = device_client(device)
    (polled,) = client.get(POLL).json()
    assert (polled["operationId"], polled["name"]) == (str(trigger.id), "upload")
    start = ask(client, trigger).json()
    correlation = f"{trigger.id}#1"
    assert start["correlationId"] == correlation
    options = start["options"]
    assert (options["storage.provider"], options["https.method"], options["info.ticket"]) == ("generic", "PUT", "7")
    assert options["https.url"].startswith("http://testserver/stores/uploads/")
    assert DeviceOperation.objects.get(pk=trigger.pk).status == OperationStatus.SUCCEEDED  # the device took it
    assert put(options["https.url"], LOG) == 201
    assert report(client, correlation, "UPLOADING", progress=50).json()["outcome"] == "progress"
    assert report(client, correlation, "SUCCESS", progress=100).json() == {"outcome": "recorded", "status": "SUCCEEDED"}
    upload = DeviceUpload.objects.get()
    assert (upload.name, upload.state, upload.progress, upload.size) == ("device.log", "SUCCESS", 100, len(LOG))
    assert store_file_read(store=UPLOAD_STORE, key=upload.key) == LOG
    # Asking again for the same file answers the same upload.
    assert ask(client, trigger).json()["options"]["https.url"] == options["https.url"]
    assert DeviceUpload.objects.count() == 1
    # The owner downloads it.
    owner = api_client(device.org.created_by)
    url = owner.get(f"{UPLOADS}{upload.id}/file/").json()["url"]
    assert b"".join(Client().get(urlsplit(url).path).streaming_content) == LOG


def test_a_checksum_mismatch_fails_with_the_reason(device):
    trigger = make_trigger(device)
    client = device_client(device)
    options = ask(client, trigger, checksum=sha256(b"something else")).json()["options"]
    put(options["https.url"], LOG)
    assert report(client, f"{trigger.id}#1", "SUCCESS", progress=100).json()["status"] == "FAILED"
    upload = DeviceUpload.objects.select_related("operation").get()
    assert upload.state == "FAILED"
    assert upload.message.startswith("Checksum mismatch: the device said sha256")
    assert upload.operation.error == upload.message
    assert api_client(device.org.created_by).get(f"{UPLOADS}{upload.id}/").json()["status"] == "FAILED"


def test_success_without_a_file_fails(device):
    trigger = make_trigger(device)
    client = device_client(device)
    ask(client, trigger)
    assert report(client, f"{trigger.id}#1", "SUCCESS").json()["status"] == "FAILED"
    assert DeviceUpload.objects.get().message == "The device reported SUCCESS but no file was uploaded."


def test_the_device_reports_failed_and_canceled(device):
    trigger = make_trigger(device)
    client = device_client(device)
    ask(client, trigger, number=1)
    ask(client, trigger, number=2)
    report(client, f"{trigger.id}#1", "FAILED", message="permission denied", statusCode="403")
    report(client, f"{trigger.id}#2", "CANCELED", message="stopped by the user")
    uploads = {u.correlation_id: u for u in DeviceUpload.objects.select_related("operation")}
    assert uploads[f"{trigger.id}#1"].operation.status == OperationStatus.FAILED
    assert uploads[f"{trigger.id}#1"].operation.error == "permission denied"
    assert uploads[f"{trigger.id}#2"].operation.status == OperationStatus.CANCELED


def test_cancel_then_a_late_success_keeps_nothing(device):
    trigger = make_trigger(device)
    client = device_client(device)
    options = ask(client, trigger).json()["options"]
    upload = DeviceUpload.objects.get()
    owner = api_client(device.org.created_by)
    assert owner.post(f"/api/v1/operation/{upload.operation_id}/cancel/").status_code == 200
    put(options["https.url"], LOG)
    assert report(client, f"{trigger.id}#1", "SUCCESS").json()["outcome"] == "duplicate"
    assert not store_file_exists(store=UPLOAD_STORE, key=upload.key)
    upload.refresh_from_db()
    assert upload.size is None
    assert owner.get(f"{UPLOADS}{upload.id}/file/").status_code == 404


def test_requests_and_reports_naming_nothing_are_refused(device):
    client = device_client(device)
    other = make_device(device.project)
    theirs = make_trigger(other)
    assert ask(client, theirs).status_code == 404  # another device's trigger
    assert report(client, "nothing#1", "SUCCESS").json() == {"outcome": "unknown", "status": None}
    assert client.post(REQUEST, {"options": {}}, format="json").status_code == 400
    assert report(client, f"{theirs.id}#1", "DONE").status_code == 400
    assert ask(client, make_trigger(device), checksum="crc32:1234").status_code == 400
    assert not DeviceUpload.objects.exists()
    # A user's token is not a device's.
    assert api_client(device.org.created_by).post(REQUEST, {"correlationId": "x"}, format="json").status_code == 403


def test_another_orgs_uploads_are_404(device):
    upload = make_upload(device)
    stranger = api_client(make_device(make_project()).org.created_by)
    assert stranger.get(f"{UPLOADS}{upload.id}/").status_code == 404
    assert stranger.get(f"{UPLOADS}{upload.id}/file/").status_code == 404
    assert stranger.post(f"/api/v1/operation/{upload.operation_id}/cancel/").status_code == 404
    assert stranger.get(UPLOADS).json()["count"] == 0


def test_a_forged_or_expired_upload_link_is_404(device):
    assert Client().put("/stores/uploads/forged/device.log", LOG, content_type="text/plain").status_code == 404


@pytest.mark.django_db
def test_presigned_s3_put_on_moto(s3_stores, settings):
    device = make_device(make_project())
    trigger = make_trigger(device)
    client = device_client(device)
    options = ask(client, trigger).json()["options"]
    assert "Signature=" in options["https.url"]
    assert put(options["https.url"], LOG) == 200
    upload = DeviceUpload.objects.get()
    assert store_file_read(store=UPLOAD_STORE, key=upload.key) == LOG
    outcome = report(client, f"{trigger.id}#1", "SUCCESS").json()
    upload = DeviceUpload.objects.get()
    assert outcome["status"] == "SUCCEEDED", upload.message
    assert store_file_read(store=UPLOAD_STORE, key=upload.key) == LOG
