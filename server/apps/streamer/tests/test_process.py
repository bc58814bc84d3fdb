"""The ProcessReport worker action: reports built by iotile-core, uploaded through the API, processed by the real
worker, and the stored rows checked exactly."""

from __future__ import annotations

import datetime
import json

import pytest
from iotile.core.hw.reports import IOTileReading
from iotile.core.hw.reports.report import IOTileEvent

from server.apps.core.testing import assert_query_count
from server.apps.device.models import Device
from server.apps.device.tests.factories import make_staff, make_stream, make_variable
from server.apps.deviceauth.services import device_key_set
from server.apps.stores.selectors import store_file_read
from server.apps.stores.services import store_file_delete
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.stream.services import stream_update
from server.apps.streamer.models import IngestedReport, ReportStatus, Streamer, StreamerReport
from server.apps.streamer.reports.timestamps import rtc_to_datetime
from server.apps.streamer.services.processing import streamer_report_process
from server.apps.streamer.tests.factories import (
    DEVICE_KEY,
    RECEIVED_UTC,
    USER_KEY,
    assert_report_stored,
    dictionary_report,
    make_ingest,
    process,
    seconds,
    signed_report,
    stored,
    upload,
)
from server.apps.streamevent.models import StreamEventData
from server.apps.vartype.models import VarType, VarTypeInputUnit
from server.apps.worker.models import DeadLetter
from server.apps.worker.services import dead_letter_requeue

RTC = 0x80000000


def ingest_report(ingest, data: bytes, **kwargs) -> StreamerReport:
    response = upload(ingest.client, data, **kwargs)
    assert response.status_code == 201, response.content
    process()
    return StreamerReport.objects.get(pk=response.json()["id"])


def test_readings_become_rows(db):
    ingest = make_ingest()
    rows = [
        (10, 0x5001, 100, 1),
        (10, 0x5002, 7, 2),
        (20, 0x5001, 101, 3),
        (RTC | 770_000_000, 0x5001, 102, 4),
        (30, 0x5002, 0xFFFFFFFF, 5),
    ]
    report = ingest_report(ingest, signed_report(ingest.device.id, rows, report_id=6, sent=100))
    base = RECEIVED_UTC - seconds(100)
    first, second = ingest.stream_slug(0x5001), ingest.stream_slug(0x5002)
    assert stored() == [
        (first, 1, base + seconds(10), 100, 100.0, "cln", False, "Num"),
        (first, 3, base + seconds(20), 101, 101.0, "cln", False, "Num"),
        (first, 4, rtc_to_datetime(RTC | 770_000_000), 102, 102.0, "utc", False, "Num"),
        (second, 2, base + seconds(10), 7, 7.0, "cln", False, "Num"),
        (second, 5, base + seconds(30), 0xFFFFFFFF, float(0xFFFFFFFF), "cln", False, "Num"),
    ]
    assert report.status == ReportStatus.SUCCESS
    assert (report.new_reading_count, report.duplicate_reading_count, report.skipped_reading_count) == (5, 0, 0)
    assert (report.actual_first_id, report.actual_last_id, report.error) == (1, 5, "")
    assert report.processed_on is not None
    assert Streamer.objects.get().last_id == 5
    assert Device.objects.get(pk=ingest.device.pk).last_known_id == 5
    # The streams were created with their variables, since the project allows it.
    assert set(StreamId.objects.values_list("slug", flat=True)) == {first, second}
    assert StreamVariable.objects.get(lid=0x5001).name == "Variable 5001"
    assert IngestedReport.objects.get().new_reading_count == 5


def test_reboots_in_a_user_streamer(db):
    """Readings before the reboot are re-based to end 1 s before it and marked dirty; the reboot reading only
    places the times and is not stored."""
    ingest = make_ingest()
    rows = [(10, 0x5001, 1, 1), (20, 0x5001, 2, 2), (0, 0x5C00, 1, 3), (5, 0x5001, 3, 4), (15, 0x5001, 4, 5)]
    report = ingest_report(ingest, signed_report(ingest.device.id, rows, report_id=6, sent=100, selector=0xD7FF))
    base = RECEIVED_UTC - seconds(100)
    slug = ingest.stream_slug(0x5001)
    assert stored() == [
        (slug, 1, base - seconds(11), 1, 1.0, "drt", True, "Num"),
        (slug, 2, base - seconds(1), 2, 2.0, "drt", True, "Num"),
        (slug, 4, base + seconds(5), 3, 3.0, "cln", False, "Num"),
        (slug, 5, base + seconds(15), 4, 4.0, "cln", False, "Num"),
    ]
    assert (report.new_reading_count, report.skipped_reading_count) == (4, 1)
    streamer = Streamer.objects.get()
    assert (streamer.last_id, streamer.last_reboot_ts, streamer.is_system) == (5, base, False)
    assert Device.objects.get(pk=ingest.device.pk).last_reboot_ts == base


def test_reboots_in_the_system_streamer_are_stored(db):
    ingest = make_ingest()
    rows = [(10, 0x5001, 1, 1), (0, 0x5C00, 1, 2), (5, 0x5001, 3, 3)]
    ingest_report(ingest, signed_report(ingest.device.id, rows, report_id=4, sent=100, selector=0x5FFF))
    base = RECEIVED_UTC - seconds(100)
    assert stored(ingest.stream_slug(0x5C00)) == [(ingest.stream_slug(0x5C00), 2, base, 1, 1.0, "cln", False, "Num")]
    assert len(stored()) == 3


def test_previous_report_places_readings_before_a_reboot(db):
    """The device sent the previous report in the same boot session, so its base times the first block exactly."""
    ingest = make_ingest()
    ingest_report(ingest, signed_report(ingest.device.id, [(900, 0x5001, 1, 1)], report_id=2, sent=1000))
    base1 = RECEIVED_UTC - seconds(1000)
    later = RECEIVED_UTC + datetime.timedelta(minutes=10)
    rows = [(1100, 0x5001, 2, 10), (0, 0x5C00, 1, 11), (5, 0x5001, 3, 12)]
    data = signed_report(ingest.device.id, rows, report_id=13, sent=50)
    ingest_report(ingest, data, timestamp=later.replace(tzinfo=None).isoformat())
    base2 = later - seconds(50)
    slug = ingest.stream_slug(0x5001)
    assert [row[1:3] + row[5:7] for row in stored(slug)] == [
        (1, base1 + seconds(900), "cln", False),
        (10, base1 + seconds(1100), "cln", False),
        (12, base2 + seconds(5), "cln", False),
    ]


def test_rtc_readings_in_a_dictionary_report(db):
    ingest = make_ingest()
    moment = datetime.datetime(2024, 4, 30, 8, 0, 0)
    readings = [
        IOTileReading(5, 0x5001, 11, reading_id=1, reading_time=moment),
        IOTileReading(RTC | 100, 0x5001, 12, reading_id=2),
        IOTileReading(40, 0x5001, 13, reading_id=3),
    ]
    data = dictionary_report(ingest.device.id, readings, [], report_id=4, selector=0x5FFF, sent_timestamp=100)
    report = ingest_report(ingest, data, name="report.mp")
    assert report.streamer.index == 0x100
    slug = ingest.stream_slug(0x5001)
    assert [row[1:4] + row[5:6] for row in stored()] == [
        (1, moment.replace(tzinfo=datetime.UTC), 11, "cln"),
        (2, datetime.datetime(2000, 1, 1, 0, 1, 40, tzinfo=datetime.UTC), 12, "utc"),
        (3, RECEIVED_UTC - seconds(60), 13, "cln"),
    ]
    assert stored()[0][0] == slug


def test_events_of_a_dictionary_report(db):
    ingest = make_ingest()
    moment = datetime.datetime(2024, 4, 30, 8, 0, 0)
    events = [
        IOTileEvent(30, 0x5020, {"axis": "x", "peak": 2.5}, {"samples": [1, 2, 3]}, reading_id=14, reading_time=moment),
        IOTileEvent(0xFFFFFFFF, 0x5020, {"axis": "y"}, None, reading_id=15, reading_time=moment),
    ]
    readings = [IOTileReading(5, 0x5001, 11, reading_id=13)]
    data = dictionary_report(ingest.device.id, readings, events, report_id=16, selector=0x5FFF, sent_timestamp=100)
    report = ingest_report(ingest, data, name="report.mp")
    assert (report.new_reading_count, report.event_count, report.actual_first_id, report.actual_last_id) == (
        1,
        2,
        13,
        15,
    )
    first, second = StreamEventData.objects.order_by("streamer_local_id")
    slug = ingest.stream_slug(0x5020)
    assert (first.series, first.org_id) == (StreamId.objects.get(slug=slug).series, ingest.org.pk)
    assert (first.streamer_local_id, first.timestamp, first.extra_data) == (
        14,
        moment.replace(tzinfo=datetime.UTC),
        {"axis": "x", "peak": 2.5},
    )
    assert json.loads(store_file_read(store="events", key=first.data_key)) == {"samples": [1, 2, 3]}
    assert (second.data_key, second.extra_data) == ("", {"axis": "y"})
    assert Streamer.objects.get().last_id == 15
    # Read back through the API, as iotile-analytics does.
    listed = ingest.client.get("/api/v1/event/", {"filter": slug, "page_size": 1000, "mask": 1}).json()
    assert [(row["streamer_local_id"], row["has_raw_data"]) for row in listed["results"]] == [(14, True), (15, False)]
    assert ingest.client.get(f"/api/v1/event/{first.id}/data/").json() == {"samples": [1, 2, 3]}
    extra = ingest.client.get(f"/api/v1/device/{ingest.device.slug}/extra/").json()["stream_counts"]
    assert extra[slug]["event_cnt"] == 2
    assert extra[ingest.stream_slug(0x5001)]["data_cnt"] == 1


def test_duplicate_uploads_store_nothing_twice(db):
    ingest = make_ingest()
    data = signed_report(ingest.device.id, [(10 * i, 0x5001, i, i) for i in range(1, 11)], report_id=11)
    # Twice before processing: the second goes through the conflict-safe write and adds nothing.
    assert_report_stored(upload(ingest.client, data), data, count=10)
    assert_report_stored(upload(ingest.client, data), data, count=10)
    process()
    # Once more afterwards: its readings are at or below last_id and dropped before writing.
    assert_report_stored(upload(ingest.client, data), data, count=0)
    process()
    figures = list(
        StreamerReport.objects.order_by("created_on").values_list(
            "status", "new_reading_count", "duplicate_reading_count"
        )
    )
    assert figures == [("success", 10, 0), ("success", 0, 10), ("success", 0, 10)]
    assert [row[1] for row in stored()] == list(range(1, 11))


def test_overlapping_reports_processed_out_of_order(db):
    """A retry can make a later report go first; the earlier one then still stores what only it carries."""
    ingest = make_ingest()
    early = signed_report(ingest.device.id, [(10 * i, 0x5001, i, i) for i in range(1, 11)], report_id=11)
    late = signed_report(ingest.device.id, [(10 * i, 0x5001, i, i) for i in range(6, 16)], report_id=16)
    early_id = upload(ingest.client, early).json()["id"]
    late_id = upload(ingest.client, late).json()["id"]
    streamer_report_process(report_id=late_id)
    process()
    assert [row[1] for row in stored()] == list(range(1, 16))
    early_report, late_report = StreamerReport.objects.get(pk=early_id), StreamerReport.objects.get(pk=late_id)
    assert (late_report.new_reading_count, late_report.actual_first_id, late_report.actual_last_id) == (10, 6, 15)
    assert (early_report.new_reading_count, early_report.duplicate_reading_count) == (5, 5)
    assert (early_report.actual_first_id, early_report.actual_last_id) == (1, 5)
    assert Streamer.objects.get().last_id == 15


def test_streams_the_project_lacks_are_skipped_when_it_does_not_create_them(db):
    ingest = make_ingest()
    ingest.project.auto_create_streams = False
    ingest.project.save()
    known = make_stream(ingest.device, lid=0x5001)
    rows = [(10, 0x5001, 1, 1), (10, 0x5002, 2, 2), (20, 0x5001, 3, 3)]
    report = ingest_report(ingest, signed_report(ingest.device.id, rows, report_id=4))
    assert [row[:2] for row in stored()] == [(known.slug, 1), (known.slug, 3)]
    assert (report.new_reading_count, report.skipped_reading_count) == (2, 1)
    assert not StreamId.objects.filter(var_lid=0x5002).exists()
    assert Streamer.objects.get().last_id == 3  # acknowledged all the same: the device need not resend them


def test_disabled_streams_are_skipped(db):
    ingest = make_ingest()
    stream_update(stream=make_stream(ingest.device, lid=0x5002), enabled=False)
    rows = [(10, 0x5001, 1, 1), (10, 0x5002, 2, 2)]
    report = ingest_report(ingest, signed_report(ingest.device.id, rows, report_id=3))
    assert [row[:2] for row in stored()] == [(ingest.stream_slug(0x5001), 1)]
    assert report.skipped_reading_count == 1


def test_scaling_units_and_raw_formats(db):
    ingest = make_ingest()
    staff = make_staff()
    volume = VarType.objects.create(name="Volume", slug="volume", created_by=staff)
    VarTypeInputUnit.objects.create(var_type=volume, unit_full="Litres", slug="in--volume--litre", m=1000, d=1)
    # Stream MDO then the input unit: (raw * 2 / 10 + 1) * 1000, type ITR.
    make_stream(
        ingest.device,
        lid=0x5001,
        var_type="volume",
        input_unit="in--volume--litre",
        multiplication_factor=2,
        division_factor=10,
        offset=1.0,
    )
    # The variable's MDO (mdo_type V), signed raw values.
    variable = make_variable(ingest.project, lid=0x5002, multiplication_factor=3)
    make_stream(ingest.device, variable=variable, mdo_type="V", raw_value_format="<l")
    rows = [(10, 0x5001, 5, 1), (10, 0x5002, 0xFFFFFFFE, 2), (10, 0x5003, 9, 3)]
    ingest_report(ingest, signed_report(ingest.device.id, rows, report_id=4))
    assert [(row[1], row[3], row[4], row[7]) for row in stored()] == [
        (1, 5, 2000.0, "ITR"),
        (2, 0xFFFFFFFE, -6.0, "Num"),
        (3, 9, 9.0, "Num"),
    ]


@pytest.mark.parametrize(("key_type", "secret"), [("USR", USER_KEY), ("DEV", DEVICE_KEY)])
def test_keyed_reports_are_verified_and_decrypted(db, key_type, secret):
    ingest = make_ingest()
    device_key_set(device=ingest.device, type=key_type, secret=secret.hex(), created_by=make_staff())
    rows = [(10 * i, 0x5001, 1000 + i, i) for i in range(1, 6)]
    keyed = {"user_key": secret} if key_type == "USR" else {"device_key": secret}
    report = ingest_report(ingest, signed_report(ingest.device.id, rows, report_id=6, **keyed))
    assert report.status == ReportStatus.SUCCESS
    assert [(row[1], row[3]) for row in stored()] == [(i, 1000 + i) for i in range(1, 6)]


def test_a_report_without_its_key_fails_with_the_reason_then_succeeds_once_the_key_is_known(db):
    ingest = make_ingest()
    rows = [(10 * i, 0x5001, i, i) for i in range(1, 6)]
    report = ingest_report(ingest, signed_report(ingest.device.id, rows, report_id=6, user_key=USER_KEY))
    assert report.status == ReportStatus.FAILED
    assert report.error == (
        f"report.bin: the report is signed and encrypted with a user key, and no user key is known for device "
        f"{ingest.device.slug}"
    )
    dead = DeadLetter.objects.get()
    assert (dead.action, dead.arguments) == ("ProcessReport", {"report_id": str(report.pk)})
    assert "no user key is known" in dead.error
    assert stored() == []
    assert Streamer.objects.get().last_id == 0

    device_key_set(device=ingest.device, type="USR", secret=USER_KEY.hex(), created_by=make_staff())
    dead_letter_requeue(dead_letter=dead)
    process()
    report.refresh_from_db()
    assert (report.status, report.error, report.new_reading_count) == (ReportStatus.SUCCESS, "", 5)
    assert Streamer.objects.get().last_id == 5


def test_a_wrong_key_fails_the_report(db):
    ingest = make_ingest()
    device_key_set(device=ingest.device, type="USR", secret=DEVICE_KEY.hex(), created_by=make_staff())
    data = signed_report(ingest.device.id, [(1, 0x5001, 1, 1)], report_id=2, user_key=USER_KEY)
    response = upload(ingest.client, data)
    # With a key on file the upload can check the signature itself.
    assert response.status_code == 400
    assert "the user key is wrong or the file is corrupt" in response.json()["detail"]


def test_missing_file_and_unclaimed_device_fail_the_report(db):
    ingest = make_ingest()
    gone = upload(ingest.client, signed_report(ingest.device.id, [(1, 0x5001, 1, 1)], report_id=2)).json()
    store_file_delete(store="streamer-reports", key=StreamerReport.objects.get(pk=gone["id"]).file_key)
    process()
    report = StreamerReport.objects.get(pk=gone["id"])
    assert report.status == ReportStatus.FAILED
    assert "missing from the store" in report.error

    orphan = upload(ingest.client, signed_report(ingest.device.id, [(1, 0x5001, 1, 3)], report_id=4)).json()
    Device.objects.filter(pk=ingest.device.pk).update(project=None, org=None)
    process()
    report = StreamerReport.objects.get(pk=orphan["id"])
    assert report.status == ReportStatus.FAILED
    assert report.error == f"device {ingest.device.slug} is no longer claimed into a project"
    assert DeadLetter.objects.count() == 2
    assert stored() == []


@pytest.mark.parametrize(
    ("received", "sent", "raw_times"),
    [
        # The boot would fall before the year 1.
        ("0001-01-01T00:00:00", 4_000_000_000, (10, 20)),
        # Readings timed after the report was sent, past the last second of 9999: one whole datetime computation
        # overflows, the other is only integers that PostgreSQL would have stored.
        ("9999-12-31T23:59:59", 5, (100, 200)),
        ("9999-12-31T23:59:59", 5, (1, 200)),
    ],
)
def test_a_report_timed_outside_the_years_1_to_9999_fails_and_holds_no_acknowledgement(db, received, sent, raw_times):
    ingest = make_ingest()
    rows = [(raw, 0x5001, i, i) for i, raw in enumerate(raw_times, 1)]
    response = upload(ingest.client, signed_report(ingest.device.id, rows, report_id=3, sent=sent), timestamp=received)
    assert response.status_code == 201, response.content
    process()
    report = StreamerReport.objects.get(pk=response.json()["id"])
    assert report.status == ReportStatus.FAILED
    assert report.error == (
        f"the report's readings would be timed outside the years 1 to 9999 (received {received}+00:00, sent at "
        f"uptime {sent} s): check the upload's ?timestamp="
    )
    assert DeadLetter.objects.get().arguments == {"report_id": str(report.pk)}
    assert stored() == []
    # The streamer's next report is acknowledged: the failed one holds last_id back no more than a bad file does.
    later = ingest_report(ingest, signed_report(ingest.device.id, [(5, 0x5001, 9, 4)], report_id=5, sent=10))
    assert later.status == ReportStatus.SUCCESS
    assert [(row[1], row[2]) for row in stored()] == [(4, RECEIVED_UTC - seconds(5))]
    assert Streamer.objects.get().last_id == 4


def test_a_processed_report_is_left_alone(db):
    ingest = make_ingest()
    report = ingest_report(ingest, signed_report(ingest.device.id, [(1, 0x5001, 1, 1)], report_id=2))
    before = StreamerReport.objects.filter(pk=report.pk).values().get()
    with assert_query_count(2):  # the delivery mark (of scheduled reports only: none here), the report
        streamer_report_process(report_id=str(report.pk))
    assert StreamerReport.objects.filter(pk=report.pk).values().get() == before


@pytest.mark.parametrize("size", [10, 2000])
def test_processing_query_counts_do_not_grow_with_the_report(db, size):
    ingest = make_ingest()
    ingest_report(ingest, signed_report(ingest.device.id, [(1, 0x5001, 1, 1), (1, 0x5002, 1, 2)], report_id=3))
    rows = [(10 * i, 0x5001 + i % 2, i, 10 + i) for i in range(size)]
    report_id = upload(ingest.client, signed_report(ingest.device.id, rows, report_id=size + 10)).json()["id"]
    # Default: the delivery mark, the report, the streams, the acknowledgement's transaction (a savepoint inside the
    # test's): the report's figures under the streamer's lock, then the streamer and the device in one statement.
    # Streamdata (its transaction a savepoint inside the test's): the lock with the mark and overlap probe, the
    # COPY, the roll-ups with the mark (one round trip).
    with assert_query_count(3 + 4), assert_query_count(5, using="streamdata"):
        streamer_report_process(report_id=report_id)
    assert len(stored()) == size + 2


def test_last_id_waits_for_an_earlier_report_still_uncommitted(db):
    """A report processed ahead of an earlier one of its streamer is held below the earlier one's first id; the
    earlier one's acknowledgement then takes ``last_id`` past both. A failed report holds nothing back (its file is
    kept for a requeue)."""
    ingest = make_ingest()
    ids = []
    for first in (1, 11, 21, 31):
        rows = [(i, 0x5001, i, i) for i in range(first, first + 10)]
        response = upload(ingest.client, signed_report(ingest.device.id, rows, report_id=first + 10))
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])

    def acknowledged() -> tuple[int, int]:
        return Streamer.objects.get().last_id, Device.objects.get(pk=ingest.device.pk).last_known_id

    streamer_report_process(report_id=ids[1])
    assert acknowledged() == (0, 0)
    streamer_report_process(report_id=ids[0])
    assert acknowledged() == (20, 20)
    StreamerReport.objects.filter(pk=ids[2]).update(status=ReportStatus.FAILED)
    streamer_report_process(report_id=ids[3])
    assert acknowledged() == (40, 40)
    assert len(stored()) == 30
