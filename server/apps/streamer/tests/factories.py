"""Building reports with the real iotile-core, uploading them through the API and running the real worker."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from iotile.core.hw.auth.auth_provider import AuthProvider
from iotile.core.hw.auth.rootkey_auth_provider import RootKeyAuthProvider
from iotile.core.hw.reports import FlexibleDictionaryReport, IOTileReading, SignedListReport

from server.apps.core.slugs import streamer_slug
from server.apps.core.testing import api_client, make_member
from server.apps.device.tests.factories import make_device, make_project
from server.apps.org.roles import OWNER
from server.apps.stores.selectors import store_file_read
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData
from server.apps.streamer.models import ReportStatus, Streamer, StreamerReport
from server.apps.worker.models import QueueMessage
from server.apps.worker.runner import run_worker

UTC = datetime.UTC
_device_ids = itertools.count(0x10000)
# What the uploader sends as ?timestamp=: naive, meaning UTC.
RECEIVED = datetime.datetime(2024, 5, 1, 12, 0, 0)
RECEIVED_UTC = RECEIVED.replace(tzinfo=UTC)
UPLOAD_URL = "/api/v1/streamer/report/"
USER_KEY = bytes(range(32))
DEVICE_KEY = bytes(range(100, 132))


@dataclass
class Ingest:
    """A claimed device in a project, and a member allowed to upload its reports."""

    project: object
    device: object
    user: object

    @property
    def org(self):
        return self.project.org

    @property
    def client(self):
        return api_client(self.user)

    def stream_slug(self, lid: int) -> str:
        return f"s--{self.project.slug[3:]}--{self.device.slug[3:]}--{lid:04x}"


def make_ingest(role: str = OWNER, **device_fields) -> Ingest:
    # A SignedListReport names its device in 32 bits: give the device an id that fits, whatever ids other tests
    # (whose sequence advances are never rolled back) made.
    device_fields.setdefault("id", next(_device_ids))
    project = make_project()
    device = make_device(project, **device_fields)
    return Ingest(project=project, device=device, user=make_member(project.org, role))


def make_streamer(device, index: int = 0, **fields) -> Streamer:
    """A streamer made directly (uploads make them as reports arrive)."""
    fields.setdefault("selector", 0x5FFF)
    return Streamer.objects.create(device=device, index=index, slug=streamer_slug(device.id, index), **fields)


def make_report(streamer, **fields) -> StreamerReport:
    """A report record made directly, with no file."""
    fields.setdefault("sent_timestamp", RECEIVED_UTC)
    return StreamerReport.objects.create(streamer=streamer, **fields)


class FixedKeyProvider(RootKeyAuthProvider):
    """Serves a fixed root key of one type through iotile-core's own derivation (it ships no device-key provider)."""

    def __init__(self, key_type, keys: dict[int, bytes]):
        super().__init__({"supported_keys": [key_type]})
        self.keys = keys

    def get_root_key(self, key_type, device_id):
        self.verify_key(key_type)
        return self.keys[device_id]


def signed_report(
    device_id: int,
    rows: list[tuple[int, int, int, int]],
    *,
    report_id: int = 1,
    sent: int = 1000,
    selector: int = 0x5FFF,
    streamer: int = 0,
    user_key: bytes | None = None,
    device_key: bytes | None = None,
) -> bytes:
    """A SignedListReport built by iotile-core from ``(raw_time, stream, value, reading_id)`` rows."""
    readings = [IOTileReading(raw, stream, value, reading_id=rid) for raw, stream, value, rid in rows]
    root_key, signer = AuthProvider.NoKey, None
    if user_key is not None:
        root_key, signer = AuthProvider.UserKey, FixedKeyProvider(AuthProvider.UserKey, {device_id: user_key})
    elif device_key is not None:
        root_key, signer = AuthProvider.DeviceKey, FixedKeyProvider(AuthProvider.DeviceKey, {device_id: device_key})
    report = SignedListReport.FromReadings(
        device_id,
        readings,
        root_key=root_key,
        signer=signer,
        report_id=report_id,
        selector=selector,
        streamer=streamer,
        sent_timestamp=sent,
    )
    return bytes(report.raw_report)


def dictionary_report(device_id: int, readings, events, **kwargs) -> bytes:
    """A msgpack FlexibleDictionaryReport built by iotile-core (upload it as ``report.mp``)."""
    return bytes(FlexibleDictionaryReport.FromReadings(device_id, readings, events, **kwargs).encode())


def upload(client, data: bytes, *, name: str = "report.bin", timestamp: str | None = RECEIVED.isoformat()):
    """POST the file as the clients do. The message the upload sends after its commit is sent here too, also when
    the test runs inside a transaction that never commits."""
    url = UPLOAD_URL if timestamp is None else f"{UPLOAD_URL}?timestamp={timestamp}"
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, {"file": SimpleUploadedFile(name, data)}, format="multipart")


def assert_report_stored(response, data: bytes, *, count: int, name: str = "report.bin") -> StreamerReport:
    """What an accepted upload leaves: a 201 answering ``count`` (the readings new to the streamer), the scheduled
    ``StreamerReport`` it names with that count, the file's exact bytes in the reports store under the report's key,
    and one queued ``ProcessReport`` message naming the report. Returns the report, read from the database."""
    assert response.status_code == 201, response.content
    body = response.json()
    report = StreamerReport.objects.select_related("streamer__device").get(pk=body["id"])
    assert body["count"] == count, f"the upload answered count {body['count']}, not {count}"
    assert (report.upload_count, report.status, report.file_name, report.file_size) == (
        count,
        ReportStatus.SCHEDULED,
        name,
        len(data),
    )
    assert (body["streamer"], body["device"]) == (report.streamer.slug, report.streamer.device.slug)
    assert report.file_key.startswith(f"{report.streamer.slug}/")
    assert store_file_read(store="streamer-reports", key=report.file_key) == data
    messages = QueueMessage.objects.filter(arguments__report_id=str(report.pk))
    assert [(m.action, m.arguments) for m in messages] == [("ProcessReport", {"report_id": str(report.pk)})]
    return report


def process():
    """Drain the queue with the real worker, in this process."""
    return run_worker(burst=True)


def stored(stream_slug: str | None = None) -> list[tuple]:
    """Rows as ``(stream slug, streamer_local_id, timestamp, int_value, value, status, dirty_ts, type)``, by stream
    and id; the slug is that of the stream holding the row's series."""
    slugs = dict(StreamId.objects.values_list("series", "slug"))
    rows = StreamData.objects.all()
    if stream_slug:
        rows = rows.filter(series=StreamId.objects.get(slug=stream_slug).series)
    found = rows.values_list(
        "series", "streamer_local_id", "timestamp", "int_value", "value", "status", "dirty_ts", "type", "id"
    )
    return [
        (slugs.get(row[0]), *row[1:-1]) for row in sorted(found, key=lambda row: (slugs.get(row[0]), row[1], row[-1]))
    ]


def seconds(n: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=n)
