"""streamer/, streamer/<t>/ and streamer/report/: the upload's checks and answers, and the scoped reads."""

from __future__ import annotations

import struct
from array import array
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iotile.core.hw.reports import IndividualReadingReport, IOTileReading

from server.apps.core.slugs import device_slug, streamer_slug
from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_org
from server.apps.device.tests.factories import make_device, make_project, make_staff
from server.apps.deviceauth.services import device_key_set
from server.apps.org.models import OrgMembership
from server.apps.org.roles import MEMBER, OPERATOR, OWNER
from server.apps.stores.selectors import store_file_list, store_file_read
from server.apps.streamer.models import ReportStatus, Streamer, StreamerReport
from server.apps.streamer.services.upload import novel_count
from server.apps.streamer.tests.factories import (
    RECEIVED_UTC,
    USER_KEY,
    assert_report_stored,
    make_ingest,
    make_report,
    make_streamer,
    process,
    signed_report,
    upload,
)
from server.apps.worker.models import QueueMessage

ROWS = [(10 * i, 0x5001, 100 + i, i) for i in range(1, 11)]


def error_files() -> list[str]:
    return store_file_list(store="streamer-reports", prefix="errors/")


# The scoped reads -------------------------------------------------------------------------------------------------


class TestStreamerEndpoint(ScopedEndpointCases):
    list_url = "/api/v1/streamer/"
    list_key = "slug"
    write_method = None
    read_role = MEMBER
    list_query_count = 3  # authentication, count, page

    def make_object(self, org):
        project = make_project(org) if not org.projects.exists() else org.projects.first()
        return make_streamer(make_device(project), last_id=42)

    def detail_url(self, obj):
        return f"/api/v1/streamer/{obj.slug}/"


class TestStreamerReportEndpoint(ScopedEndpointCases):
    list_url = "/api/v1/streamer/report/"
    list_key = "id"
    write_method = None
    read_role = OPERATOR
    list_query_count = 3

    def make_object(self, org):
        project = make_project(org) if not org.projects.exists() else org.projects.first()
        return make_report(make_streamer(make_device(project)), incremental_id=7)

    def detail_url(self, obj):
        return f"/api/v1/streamer/report/{obj.pk}/"


def test_streamer_fields_and_filters(db):
    ingest = make_ingest()
    user_streamer = make_streamer(ingest.device, 0, selector=0xD7FF, last_id=15)
    make_streamer(ingest.device, 1, selector=0x5FFF, is_system=True, last_id=20)
    make_streamer(make_device(ingest.project), 0)
    client = ingest.client

    detail = client.get(f"/api/v1/streamer/{user_streamer.slug}/").json()
    assert {k: detail[k] for k in ("slug", "device", "index", "last_id", "selector", "is_system")} == {
        "slug": user_streamer.slug,
        "device": ingest.device.slug,
        "index": 0,
        "last_id": 15,
        "selector": 0xD7FF,
        "is_system": False,
    }
    # The device filter reads any slug form; the acknowledgements the clients want are index, last_id, selector.
    short = f"d--{ingest.device.id:x}"
    listed = client.get("/api/v1/streamer/", {"device": short}).json()["results"]
    assert [(r["index"], r["last_id"], r["selector"]) for r in listed] == [(0, 15, 0xD7FF), (1, 20, 0x5FFF)]
    assert client.get("/api/v1/streamer/", {"device": short, "is_system": "true"}).json()["count"] == 1
    assert client.get("/api/v1/streamer/", {"device": short, "selector": "0xd7ff"}).json()["count"] == 1
    assert client.get("/api/v1/streamer/", {"device": "nonsense"}).status_code == 400
    assert client.get("/api/v1/streamer/t--nonsense/").status_code == 404


def test_streamer_slug_with_the_clients_oversized_device_group(db):
    """IOTileCloud writes a device above 0xffff into the last group unsplit: t--0000-0000-0000-12345678--0000."""
    ingest = make_ingest(id=0x12345678)
    streamer = make_streamer(ingest.device, 0, last_id=9)
    assert streamer.slug == "t--0000-0000-1234-5678--0000"
    response = ingest.client.get("/api/v1/streamer/t--0000-0000-0000-12345678--0000/")
    assert response.status_code == 200
    assert response.json()["last_id"] == 9


def test_report_filters(db):
    ingest = make_ingest()
    first, second = make_streamer(ingest.device, 0), make_streamer(ingest.device, 1)
    done = make_report(first, status=ReportStatus.SUCCESS)
    make_report(second)
    client = ingest.client
    assert client.get("/api/v1/streamer/report/", {"streamer": first.slug}).json()["results"][0]["id"] == str(done.pk)
    assert client.get("/api/v1/streamer/report/", {"status": "success"}).json()["count"] == 1
    assert client.get("/api/v1/streamer/report/", {"device": ingest.device.slug}).json()["count"] == 2
    assert client.get("/api/v1/streamer/report/", {"start": "2024-05-01T12:00:00Z"}).json()["count"] == 2
    assert client.get("/api/v1/streamer/report/", {"end": "2024-05-01T12:00:00Z"}).json()["count"] == 0
    assert client.get("/api/v1/streamer/report/not-a-uuid/").status_code == 404


# The upload -------------------------------------------------------------------------------------------------------


def test_upload_stores_records_and_queues(db):
    ingest = make_ingest(role=OPERATOR)  # the companion app's role may upload data
    data = signed_report(ingest.device.id, ROWS, report_id=11, sent=200, selector=0xD7FF)
    response = upload(ingest.client, data)
    report = assert_report_stored(response, data, count=10)
    body = response.json()
    assert (body["status"], body["streamer"], body["device"]) == (
        "scheduled",
        streamer_slug(ingest.device.id, 0),
        ingest.device.slug,
    )
    assert (report.original_first_id, report.original_last_id, report.incremental_id) == (1, 10, 11)
    assert (report.sent_timestamp, report.device_sent_timestamp, report.reading_count) == (RECEIVED_UTC, 200, 10)
    assert (report.last_id_at_upload, report.created_by) == (0, ingest.user)
    assert report.file_key == f"{report.streamer.slug}/2024/05/01/12/{report.pk}.bin"
    streamer = report.streamer
    assert (streamer.index, streamer.selector, streamer.is_system, streamer.last_id) == (0, 0xD7FF, False, 0)
    assert QueueMessage.objects.count() == StreamerReport.objects.count() == Streamer.objects.count() == 1


def test_count_is_what_is_new_to_the_streamer(db):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS, report_id=11)
    assert_report_stored(upload(ingest.client, data), data, count=10)
    process()
    assert Streamer.objects.get().last_id == 10
    again = assert_report_stored(upload(ingest.client, data), data, count=0)
    assert (again.last_id_at_upload, again.reading_count) == (10, 10)
    overlapping = signed_report(ingest.device.id, [(10 * i, 0x5001, i, i) for i in range(6, 16)], report_id=16)
    assert_report_stored(upload(ingest.client, overlapping), overlapping, count=5)
    assert StreamerReport.objects.count() == 3


@pytest.mark.parametrize(
    "timestamp",
    ["2024-05-01T12:00:00", "2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00", "2024-05-01T14:00:00%2B02:00"],
)
def test_timestamp_forms(db, timestamp):
    """Naive is UTC; an unencoded '+' arrives as a space and is read back as the offset it was."""
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS)
    report = assert_report_stored(upload(ingest.client, data, timestamp=timestamp), data, count=10)
    assert report.sent_timestamp == RECEIVED_UTC
    assert report.file_key == f"{report.streamer.slug}/2024/05/01/12/{report.pk}.bin"


def test_keyed_report_with_a_known_key_is_counted(db):
    ingest = make_ingest()
    device_key_set(device=ingest.device, type="USR", secret=USER_KEY.hex(), created_by=make_staff())
    data = signed_report(ingest.device.id, ROWS, user_key=USER_KEY)
    assert_report_stored(upload(ingest.client, data), data, count=10)


def test_keyed_report_without_a_key_is_accepted_for_the_worker_to_judge(db):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS, user_key=USER_KEY)
    report = assert_report_stored(upload(ingest.client, data), data, count=0)
    assert report.reading_count == 10


def _truncated(data: bytes) -> bytes:
    return data[:-30]


def _bad_footer(data: bytes) -> bytes:
    return data[:-24] + struct.pack("<LL", 1, 99) + data[-16:]


def _swapped_ids(data: bytes) -> bytes:
    return data[:-24] + struct.pack("<LL", 99, 1) + data[-16:]


def _bad_signature(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def _wrong_length(data: bytes) -> bytes:
    return data[:1] + struct.pack("<L", len(data) + 3)[:3] + data[4:]


def _trailing(data: bytes) -> bytes:
    return data + b"\x00" * 16


def _format_byte(data: bytes) -> bytes:
    return b"\x07" + data[1:]


def _rejected_selector(data: bytes) -> bytes:
    return data[:18] + struct.pack("<H", 0x57FF) + data[20:]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncated, "truncated"),
        (_bad_footer, "signature does not verify"),
        (_swapped_ids, "the lowest reading id 99 is above the highest, 1"),
        (_bad_signature, "signature does not verify"),
        (_wrong_length, "no SignedListReport has"),
        (_trailing, "unexpected trailing bytes"),
        (_format_byte, "unknown report format byte 0x07"),
        (_rejected_selector, "0x57FF"),
    ],
)
def test_malformed_files_are_a_400_and_kept(db, damage, message):
    ingest = make_ingest()
    data = damage(signed_report(ingest.device.id, ROWS))
    response = upload(ingest.client, data)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert response.json()["detail"].startswith("report.bin: ")
    assert not StreamerReport.objects.exists()
    assert not QueueMessage.objects.exists()
    kept = error_files()
    assert len(kept) == 2
    assert store_file_read(store="streamer-reports", key=kept[0]) == data
    assert message in store_file_read(store="streamer-reports", key=kept[1]).decode()


def test_empty_file_and_unknown_extension(db):
    ingest = make_ingest()
    assert upload(ingest.client, b"").status_code == 400
    response = upload(ingest.client, signed_report(ingest.device.id, ROWS), name="report.txt")
    assert response.status_code == 400
    assert "unsupported file extension" in response.json()["detail"]


def test_individual_reading_report_is_refused(db):
    ingest = make_ingest()
    data = bytes(IndividualReadingReport.FromReadings(ingest.device.id, [IOTileReading(1, 0x5001, 7)]).raw_report)
    response = upload(ingest.client, data)
    assert response.status_code == 400
    assert "IndividualReadingReport" in response.json()["detail"]


def test_missing_file_or_timestamp(db):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, ROWS)
    assert upload(ingest.client, data, timestamp=None).json()["timestamp"]
    assert upload(ingest.client, data, timestamp="yesterday").status_code == 400
    response = ingest.client.post("/api/v1/streamer/report/?timestamp=2024-05-01T12:00:00", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()
    assert not StreamerReport.objects.exists()


def test_unknown_and_other_orgs_devices_are_not_found(db):
    ingest = make_ingest()
    other = make_device(make_project(make_org()))
    for device_id in (other.id, 0xFFFFFF):
        response = upload(ingest.client, signed_report(device_id, ROWS))
        assert response.status_code == 404
        assert response.json()["detail"] == f"Device {device_slug(device_id)} not found."
    assert not StreamerReport.objects.exists()
    assert len(error_files()) == 4


def test_unclaimed_device_is_a_400(db):
    ingest = make_ingest()
    unclaimed = make_device()
    response = upload(ingest.client, signed_report(unclaimed.id, ROWS))
    assert response.status_code == 400
    assert "is not claimed" in response.json()["detail"]
    assert not Streamer.objects.exists()


def test_a_member_without_create_data_is_403_and_nothing_is_kept(db):
    ingest = make_ingest(role=MEMBER)
    membership = OrgMembership.objects.get(user=ingest.user)
    membership.permissions["can_create_stream_data"] = False
    membership.save()
    response = upload(ingest.client, signed_report(ingest.device.id, ROWS))
    assert response.status_code == 403
    assert not StreamerReport.objects.exists()
    assert error_files() == []


def test_anonymous_upload_is_401(db):
    ingest = make_ingest()
    assert upload(api_client(), signed_report(ingest.device.id, ROWS)).status_code == 401
    assert not StreamerReport.objects.exists()


def test_staff_may_upload_for_any_claimed_device(db):
    ingest = make_ingest()
    staff = make_staff()
    data = signed_report(ingest.device.id, ROWS)
    report = assert_report_stored(upload(api_client(staff), data), data, count=10)
    assert (report.streamer.device, report.created_by) == (ingest.device, staff)


def test_selector_change_updates_the_streamer(db):
    ingest = make_ingest()
    first = signed_report(ingest.device.id, ROWS, selector=0xD7FF)
    assert_report_stored(upload(ingest.client, first), first, count=10)
    assert Streamer.objects.get().selector == 0xD7FF
    second = signed_report(ingest.device.id, ROWS, selector=0x5FFF)
    assert_report_stored(upload(ingest.client, second), second, count=10)
    streamer = Streamer.objects.get()
    assert (streamer.selector, streamer.is_system) == (0x5FFF, True)


def test_upload_query_count(db):
    ingest = make_ingest(role=OWNER)
    client = ingest.client
    upload(client, signed_report(ingest.device.id, ROWS))  # the streamer exists from here on
    data = signed_report(ingest.device.id, [(i, 0x5001, i, 10 + i) for i in range(1, 500)])
    # The user; the device with whether the user sees it and may upload its data; in a transaction (here SAVEPOINT and
    # RELEASE): the streamer, the report, the queue message with its NOTIFY. A hash-signed report reads no keys.
    with assert_query_count(7):
        response = upload(client, data)
    assert_report_stored(response, data, count=499)


@given(
    ids=st.lists(st.integers(min_value=0, max_value=2**32 - 1), max_size=50),
    last_id=st.integers(min_value=0, max_value=2**32),
    as_array=st.booleans(),
)
def test_the_upload_counts_the_readings_new_to_the_streamer(ids, last_id, as_array):
    readings = SimpleNamespace(reading_ids=array("I", ids) if as_array else ids)  # binary / dictionary reports
    report = SimpleNamespace(readings=readings, events=[])
    assert novel_count(report, last_id) == sum(1 for reading_id in ids if reading_id == 0 or reading_id > last_id)
