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
from server.apps.deviceupload.models import UPLOAD_STORE, DeviceUpload, UploadSchedule
from server.apps.deviceupload.tests.factories import LOG, make_schedule, make_trigger, make_upload
from server.apps.fleet.tests.factories import make_fleet
from server.apps.operation.models import DeviceOperation, OperationStatus
from server.apps.operation.tests.factories import device_client
from server.apps.org.roles import MEMBER, OPERATOR, OWNER
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
    assert put(options["https.url"], LOG) == 410  # the link is withdrawn
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


def test_cancel_tells_the_device_and_withdraws_the_link(device):
    trigger = make_trigger(device)
    client = device_client(device)
    client.get(POLL)
    options = ask(client, trigger).json()["options"]
    upload = DeviceUpload.objects.get()
    owner = api_client(device.org.created_by)
    assert owner.post(f"/api/v1/operation/{upload.operation_id}/cancel/").json()["status"] == "CANCELED"
    # The link takes nothing any more: 410, nothing stored.
    assert put(options["https.url"], LOG) == 410
    assert not store_file_exists(store=UPLOAD_STORE, key=upload.key)
    # The device's poll carries Kanto's cancel for that file.
    (cancel,) = client.get(POLL).json()
    assert cancel["name"] == "cancel"
    assert cancel["value"]["correlationId"] == f"{trigger.id}#1"
    notice = DeviceOperation.objects.get(pk=cancel["operationId"])
    assert (notice.kind, notice.status, notice.transport) == ("uploadcancel", OperationStatus.SENT, "http")
    assert notice.history[0]["detail"]["cancels"] == str(upload.operation_id)
    # Its CANCELED report confirms the cancel; the upload itself stays canceled.
    assert report(client, f"{trigger.id}#1", "CANCELED", message="stopped").json()["outcome"] == "duplicate"
    notice.refresh_from_db()
    assert notice.status == OperationStatus.SUCCEEDED
    upload.refresh_from_db()
    assert (upload.state, upload.message, upload.operation.status) == ("CANCELED", "stopped", OperationStatus.CANCELED)
    # A second cancel is a 409 and sends nothing more.
    assert owner.post(f"/api/v1/operation/{upload.operation_id}/cancel/").status_code == 409
    assert DeviceOperation.objects.filter(kind="uploadcancel").count() == 1


def test_canceling_the_trigger_tells_the_device_and_refuses_its_requests(device):
    trigger = make_trigger(device)
    client = device_client(device)
    client.get(POLL)
    owner = api_client(device.org.created_by)
    assert owner.post(f"/api/v1/operation/{trigger.id}/cancel/").status_code == 200
    (cancel,) = client.get(POLL).json()
    assert cancel["value"]["correlationId"] == str(trigger.id)
    assert ask(client, trigger).status_code == 404
    assert not DeviceUpload.objects.exists()


def test_a_link_of_a_finished_upload_takes_no_more(device):
    trigger = make_trigger(device)
    client = device_client(device)
    options = ask(client, trigger).json()["options"]
    assert put(options["https.url"], LOG) == 201
    report(client, f"{trigger.id}#1", "SUCCESS")
    assert put(options["https.url"], b"replaced") == 410
    assert store_file_read(store=UPLOAD_STORE, key=DeviceUpload.objects.get().key) == LOG


WINDOW = {"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00+00:00"}


def test_an_upload_window_is_carried_in_kantos_shape(device):
    owner = api_client(device.org.created_by)
    body = {"device": device.slug, "kind": "upload", "transport": "http", "payload": {"options": {}, **WINDOW}}
    response = owner.post("/api/v1/operation/", body, format="json")
    assert response.status_code == 201, response.json()
    trigger = DeviceOperation.objects.get(kind="upload")
    assert trigger.payload == {"options": {}, "from": 1796083200000, "to": 1796169600000}
    (polled,) = device_client(device).get(POLL).json()
    assert (polled["value"]["from"], polled["value"]["to"]) == (1796083200000, 1796169600000)


@pytest.mark.parametrize(
    "window",
    [
        {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"},  # starts after it ends
        {"from": 1796169600000, "to": 1796083200000},
        {"from": "yesterday"},
        {"to": "2026-12-01T00:00:00"},  # no zone
        {"from": True},
        {"from": -5},
    ],
)
def test_a_bad_upload_window_is_400_and_saves_nothing(device, window):
    owner = api_client(device.org.created_by)
    body = {"device": device.slug, "kind": "upload", "payload": {"options": {}, **window}}
    response = owner.post("/api/v1/operation/", body, format="json")
    assert response.status_code == 400
    assert "payload" in response.json()
    assert not DeviceOperation.objects.exists()


SCHEDULES = "/api/v1/uploadschedule/"


class TestUploadScheduleEndpoint(ScopedEndpointCases):
    list_url = SCHEDULES
    list_key = "id"
    write_method = "patch"
    allowed_role = OWNER
    denied_role = OPERATOR
    read_role = MEMBER
    created_model = UploadSchedule
    list_query_count = 3  # authentication, count, page
    stored_as = {"device": "device.slug"}

    def make_object(self, org):
        return make_schedule(device=make_device(make_project(org)))

    def detail_url(self, obj) -> str:
        return f"{SCHEDULES}{obj.id}/"

    def write_data(self, obj) -> dict:
        return {"every_hours": 12, "files": "*.txt", "enabled": False}

    def create_data(self, org) -> dict:
        return {"device": make_device(make_project(org)).slug, "every_hours": 24, "files": "logs/*.log"}


def test_schedules_for_fleets_filters_and_bad_bodies(device):
    fleet = make_fleet(device.org, devices=[device])
    owner = api_client(device.org.created_by)
    response = owner.post(SCHEDULES, {"fleet": fleet.slug, "every_hours": 3}, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["fleet"], response.json()["device"], response.json()["files"]) == (fleet.slug, None, "")
    assert owner.get(SCHEDULES, {"fleet": fleet.slug}).json()["count"] == 1
    assert owner.get(SCHEDULES, {"device": device.slug}).json()["count"] == 0
    for body in (
        {"device": device.slug, "fleet": fleet.slug, "every_hours": 3},
        {"every_hours": 3},
        {"device": device.slug, "every_hours": 0},
        {"device": device.slug, "every_hours": "often"},
        {"device": device.slug, "every_hours": 1, "files": "x" * 300},
        {"device": "d--9999-9999-9999-9999", "every_hours": 1},
    ):
        assert owner.post(SCHEDULES, body, format="json").status_code == 400, body
    schedule = UploadSchedule.objects.get()
    assert owner.patch(f"{SCHEDULES}{schedule.id}/", {"every_hours": -1}, format="json").status_code == 400
    stranger = api_client(make_device(make_project()).org.created_by)
    assert stranger.post(SCHEDULES, {"device": device.slug, "every_hours": 1}, format="json").status_code == 400
    assert stranger.delete(f"{SCHEDULES}{schedule.id}/").status_code == 404
    assert UploadSchedule.objects.count() == 1
    assert owner.delete(f"{SCHEDULES}{schedule.id}/").status_code == 204
    assert not UploadSchedule.objects.exists()
