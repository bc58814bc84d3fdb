"""Decoding reports that the real iotile-core builds: every format, every signature kind, every field."""

import datetime
import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest
from iotile.core.hw.auth.auth_provider import AuthProvider
from iotile.core.hw.auth.rootkey_auth_provider import RootKeyAuthProvider
from iotile.core.hw.reports import FlexibleDictionaryReport, IndividualReadingReport, IOTileReading, SignedListReport
from iotile.core.hw.reports.report import IOTileEvent

from server.apps.streamer.reports import (
    Event,
    Reading,
    ReadingTable,
    ReportFormat,
    SignatureFlags,
    build_signed_list_report,
    parse_report,
    peek_header,
    report_encoding,
)
from server.apps.streamer.reports.signing import crypt_readings, derive_report_key, report_signature

UTC = datetime.UTC
DEVICE = 0x2A
USER_KEY = bytes(range(32))
DEVICE_KEY = bytes(range(100, 132))
RECEIVED = datetime.datetime(2024, 5, 1, 12, 0, 0)
# (raw_time, stream, value, reading_id): uptime times, an RTC time (bit 31), two streams, a reboot reading.
READINGS = [
    (10, 0x5001, 100, 1),
    (10, 0x5002, 0xFFFFFFFF, 2),
    (20, 0x5001, 0, 3),
    (0x80000000 | 770_000_000, 0x5001, 7, 4),
    (0, 0x5C00, 1, 5),
    (30, 0x5002, 123456, 6),
]


def iotile_readings(rows=READINGS):
    return [IOTileReading(raw, stream, value, reading_id=rid) for raw, stream, value, rid in rows]


def as_tuples(table):
    return [(r.raw_time, r.stream, r.value, r.reading_id) for r in table]


class DeviceKeyProvider(RootKeyAuthProvider):
    """iotile-core ships no device-key provider; this one serves a fixed key through the library's own derivation."""

    def __init__(self, keys):
        super().__init__({"supported_keys": [AuthProvider.DeviceKey]})
        self.keys = keys

    def get_root_key(self, key_type, device_id):
        self.verify_key(key_type)
        return self.keys[device_id]


@pytest.fixture
def user_key_env(monkeypatch):
    monkeypatch.setenv(f"USER_KEY_{DEVICE:08X}", USER_KEY.hex())


def lookup(expected_flags, key):
    calls = []

    def key_lookup(device_id, flags):
        calls.append((device_id, flags))
        assert flags == expected_flags
        return key

    key_lookup.calls = calls
    return key_lookup


class TestReferenceSample:
    """The sample of iotile_clients.md §4: device 2, report 6, sent 400, selector 0xD7FF, 5 readings, 124 bytes."""

    HEADER = bytes.fromhex("017c0000020000000600000090010000 0000ffd7")
    FIRST_READING = bytes.fromhex("01500000 01000000 3c000000 64000000")
    FOOTER = bytes.fromhex("01000000 05000000 5fb9f16f5199b034a095bee348baea90")

    @pytest.fixture
    def sample(self):
        readings = [IOTileReading(60 * i, 0x5001, 100 * i, reading_id=i) for i in range(1, 6)]
        return bytes(
            SignedListReport.FromReadings(2, readings, report_id=6, selector=0xD7FF, sent_timestamp=400).raw_report
        )

    def test_bytes_match_the_reference(self, sample):
        assert len(sample) == 124
        assert sample[:20] == self.HEADER
        assert sample[20:36] == self.FIRST_READING
        assert sample[-24:] == self.FOOTER
        rows = [(0x5001, i, 60 * i, 100 * i) for i in range(1, 6)]
        assert build_signed_list_report(2, rows, report_id=6, sent_timestamp=400, selector=0xD7FF) == sample

    def test_decodes_as_described(self, sample):
        header = peek_header(sample, "signed_list_hash.bin")
        assert header.format is ReportFormat.SIGNED_LIST
        assert (header.length, header.device_id, header.report_id, header.incremental_id) == (124, 2, 6, 6)
        assert (header.sent_timestamp, header.signature_flags, header.streamer_index) == (400, SignatureFlags.HASH, 0)
        assert (header.selector, header.lowest_id, header.highest_id) == (0xD7FF, 1, 5)
        assert (header.reading_count, header.event_count, header.count) == (5, 0, 5)
        assert not header.encrypted
        assert not header.chopped

        report = parse_report(sample, "signed_list_hash.bin")
        assert report.header == header
        assert report.format_name == "SignedListReport"
        assert list(report.readings) == [Reading(0x5001, i, 60 * i, 100 * i) for i in range(1, 6)]
        assert report.events == []


class TestSignedListHash:
    def test_every_field_matches_iotile_core(self):
        built = SignedListReport.FromReadings(
            DEVICE, iotile_readings(), report_id=99, selector=0x5FFF, streamer=1, sent_timestamp=1000
        )
        data = bytes(built.raw_report)
        library = SignedListReport(bytearray(data), received_time=RECEIVED)
        assert library.verified

        report = parse_report(data, "report.bin")
        header = report.header
        assert (header.device_id, header.report_id, header.sent_timestamp) == (DEVICE, 99, 1000)
        assert (header.streamer_index, header.selector, header.signature_flags) == (1, 0x5FFF, SignatureFlags.HASH)
        assert (header.lowest_id, header.highest_id) == (library.lowest_id, library.highest_id) == (1, 6)
        assert header.length == len(data) == 44 + 16 * len(READINGS)
        assert as_tuples(report.readings) == [
            (r.raw_time, r.stream, r.value, r.reading_id) for r in library.visible_readings
        ]
        assert as_tuples(report.readings) == READINGS

    def test_columns_are_compact_arrays(self):
        data = build_signed_list_report(DEVICE, [(s, rid, raw, v) for raw, s, v, rid in READINGS])
        table = parse_report(data, "r.bin").readings
        assert list(table.streams) == [s for _, s, _, _ in READINGS]
        assert list(table.reading_ids) == [rid for *_, rid in READINGS]
        assert list(table.raw_times) == [raw for raw, *_ in READINGS]
        assert list(table.values) == [v for _, _, v, _ in READINGS]
        assert table.timestamps is None
        assert table.streams.itemsize == 2
        assert table.values.itemsize == 4

    def test_empty_report(self):
        data = bytes(SignedListReport.FromReadings(DEVICE, [], report_id=3).raw_report)
        report = parse_report(data, "empty.bin")
        assert len(report.readings) == 0
        assert (report.header.reading_count, report.header.lowest_id, report.header.highest_id) == (0, 0, 0)

    def test_no_extension_is_binary(self):
        data = build_signed_list_report(DEVICE, [(0x5001, 1, 1, 1)])
        assert parse_report(data, "upload").header.format is ReportFormat.SIGNED_LIST
        assert parse_report(data, None).header.format is ReportFormat.SIGNED_LIST

    def test_large_report(self):
        rows = [(0x5000 + i % 7, i + 1, i * 2, (i * 7919) & 0xFFFFFFFF) for i in range(5000)]
        data = build_signed_list_report(DEVICE, rows, report_id=5001, sent_timestamp=20000)
        library = SignedListReport(bytearray(data), received_time=RECEIVED)
        report = parse_report(data, "big.bin")
        assert [(r.stream, r.reading_id, r.raw_time, r.value) for r in report.readings] == rows
        assert len(library.visible_readings) == len(report.readings) == 5000

    def test_chopped_flag(self):
        count = (196608 - 44) // 16
        data = build_signed_list_report(DEVICE, [(0x5001, i + 1, i, i) for i in range(count)])
        assert peek_header(data, "r.bin").chopped
        shorter = build_signed_list_report(DEVICE, [(0x5001, i + 1, i, i) for i in range(count - 2)])
        assert not peek_header(shorter, "r.bin").chopped


class TestSignedListKeyed:
    def test_user_key_report(self, user_key_env):
        built = SignedListReport.FromReadings(
            DEVICE, iotile_readings(), root_key=AuthProvider.UserKey, report_id=77, selector=0xD7FF, sent_timestamp=500
        )
        data = bytes(built.raw_report)
        assert data[16] == SignatureFlags.USER_KEY
        plain = build_signed_list_report(DEVICE, [(s, rid, raw, v) for raw, s, v, rid in READINGS])
        assert data[20:-24] != plain[20:-24]  # the readings travel encrypted

        library = SignedListReport(bytearray(data), received_time=RECEIVED)
        assert library.verified
        assert library.encrypted

        key_lookup = lookup(SignatureFlags.USER_KEY, USER_KEY)
        report = parse_report(data, "user.bin", key_lookup)
        assert key_lookup.calls == [(DEVICE, SignatureFlags.USER_KEY)]
        assert report.header.encrypted
        assert as_tuples(report.readings) == READINGS
        assert as_tuples(report.readings) == [
            (r.raw_time, r.stream, r.value, r.reading_id) for r in library.visible_readings
        ]

    def test_device_key_report(self):
        signer = DeviceKeyProvider({DEVICE: DEVICE_KEY})
        built = SignedListReport.FromReadings(
            DEVICE, iotile_readings(), root_key=AuthProvider.DeviceKey, signer=signer, report_id=8, sent_timestamp=9
        )
        data = bytes(built.raw_report)
        assert data[16] == SignatureFlags.DEVICE_KEY

        report = parse_report(data, "device.bin", lookup(SignatureFlags.DEVICE_KEY, DEVICE_KEY))
        assert report.header.signature_flags is SignatureFlags.DEVICE_KEY
        assert as_tuples(report.readings) == READINGS

    @pytest.mark.parametrize("flags", list(SignatureFlags))
    def test_encoder_matches_iotile_core_byte_for_byte(self, flags, user_key_env):
        root_key = {SignatureFlags.HASH: None, SignatureFlags.USER_KEY: USER_KEY, SignatureFlags.DEVICE_KEY: DEVICE_KEY}
        key_type = SignedListReport.StreamTypeToKeyType(flags)
        signer = DeviceKeyProvider({DEVICE: DEVICE_KEY}) if flags == SignatureFlags.DEVICE_KEY else None
        library = SignedListReport.FromReadings(
            DEVICE,
            iotile_readings(),
            root_key=key_type,
            signer=signer,
            report_id=31,
            selector=0xD7FF,
            sent_timestamp=77,
        )
        ours = build_signed_list_report(
            DEVICE,
            [(s, rid, raw, v) for raw, s, v, rid in READINGS],
            report_id=31,
            sent_timestamp=77,
            selector=0xD7FF,
            signature_flags=flags,
            root_key=root_key[flags],
        )
        assert ours == bytes(library.raw_report)

    def test_key_derivation_and_cipher_match_iotile_core(self):
        report_key = derive_report_key(USER_KEY, 12, 3456)
        assert report_key == bytes(AuthProvider.DeriveReportKey(USER_KEY, 12, 3456))
        # The library's own AES-CTR (pycryptodome Counter.new(128): big-endian, starting at 1).
        signer = DeviceKeyProvider({DEVICE: USER_KEY})
        body = bytes(range(256)) * 3
        encrypted = SignedListReport.EncryptReport(
            DEVICE, signer, AuthProvider.DeviceKey, body, report_id=12, sent_timestamp=3456
        )["data"]
        assert crypt_readings(report_key, body) == encrypted
        assert crypt_readings(report_key, encrypted) == body
        signed = SignedListReport.SignReport(
            DEVICE, signer, AuthProvider.DeviceKey, body, report_id=12, sent_timestamp=3456
        )["signature"]
        assert report_signature(body, report_key) == bytes(signed[:16])
        assert report_signature(body) == hashlib.sha256(body).digest()[:16]


class TestIndividualReading:
    def test_from_iotile_core(self):
        data = bytes(IndividualReadingReport.FromReadings(DEVICE, [IOTileReading(15, 0x5003, 42)]).raw_report)
        header = peek_header(data, "one.bin")
        assert header.format is ReportFormat.INDIVIDUAL_READING
        assert (header.length, header.device_id, header.sent_timestamp, header.reading_count) == (20, DEVICE, 0, 1)
        assert (header.signature_flags, header.streamer_index, header.selector) == (None, None, None)
        assert (header.report_id, header.lowest_id, header.highest_id) == (0, 0, 0)
        assert list(parse_report(data, "one.bin").readings) == [Reading(0x5003, 0, 15, 42)]

    def test_sent_timestamp_and_rtc(self):
        data = struct.pack("<BBHLLLL", 0, 0, 0x5004, DEVICE, 3600, 0x80000000 | 12345, 0xDEADBEEF)
        library = IndividualReadingReport(bytearray(data), received_time=RECEIVED)
        report = parse_report(data, "one.bin")
        assert report.header.sent_timestamp == library.sent_timestamp == 3600
        reading = report.readings[0]
        assert (reading.stream, reading.raw_time, reading.value) == (0x5004, 0x80000000 | 12345, 0xDEADBEEF)
        assert library.visible_readings[0].value == reading.value


def flexible(readings, events, **kwargs):
    return FlexibleDictionaryReport.FromReadings(DEVICE, readings, events, **kwargs)


class TestFlexibleDictionary:
    def build(self):
        moment = datetime.datetime(2024, 4, 30, 8, 15, 0)
        readings = [
            IOTileReading(10, 0x5001, 1, reading_id=11),
            IOTileReading(20, 0x5001, 2, reading_id=12, reading_time=moment),
            IOTileReading(0x80000000 | 1000, 0x5002, 3, reading_id=13),
        ]
        events = [
            IOTileEvent(30, 0x5020, {"axis": "x", "peak": 2.5}, {"samples": [1, 2, 3]}, reading_id=14),
            IOTileEvent(0xFFFFFFFF, 0x5020, {"axis": "y"}, None, reading_id=15, reading_time=moment),
        ]
        return flexible(readings, events, report_id=16, selector=0xFFFF, sent_timestamp=3000)

    def check(self, report, moment=datetime.datetime(2024, 4, 30, 8, 15, 0, tzinfo=UTC)):
        header = report.header
        assert header.format is ReportFormat.FLEXIBLE_DICTIONARY
        assert (header.device_id, header.report_id, header.sent_timestamp) == (DEVICE, 16, 3000)
        assert (header.streamer_index, header.selector, header.signature_flags) == (0x100, 0xFFFF, None)
        assert (header.lowest_id, header.highest_id) == (11, 15)
        assert (header.reading_count, header.event_count, header.count) == (3, 2, 5)
        rtc_time = datetime.datetime(2000, 1, 1, tzinfo=UTC) + datetime.timedelta(seconds=1000)
        assert list(report.readings) == [
            Reading(0x5001, 11, 10, 1, None),
            Reading(0x5001, 12, 20, 2, moment),
            Reading(0x5002, 13, 0x80000000 | 1000, 3, rtc_time),
        ]
        assert report.events == [
            Event(0x5020, 14, 30, None, {"axis": "x", "peak": 2.5}, {"samples": [1, 2, 3]}),
            Event(0x5020, 15, 0xFFFFFFFF, moment, {"axis": "y"}, None),
        ]

    def test_msgpack(self):
        data = bytes(self.build().raw_report)
        assert peek_header(data, "report.mp") == parse_report(data, "report.mp").header
        self.check(parse_report(data, "report.mp"))

    def test_json(self):
        data = json.dumps(self.build().asdict()).encode()
        self.check(parse_report(data, "report.json"))

    def test_upper_case_extension(self):
        data = bytes(self.build().raw_report)
        self.check(parse_report(data, "REPORT.MP"))

    def test_aware_event_time_with_an_offset_and_z(self):
        # The client writes event times as isoformat() + "Z", so an aware datetime becomes "...+00:00Z" (which
        # iotile-core itself cannot read back). Accept it.
        moment = datetime.datetime(2024, 4, 30, 8, 15, tzinfo=UTC)
        body = bytes(flexible([], []).raw_report)
        report = msgpack.unpackb(body)
        event = IOTileEvent(1, 0x5020, None, None, reading_id=1, reading_time=moment).asdict()
        report["events"] = [{**event, "timestamp": moment.isoformat() + "Z"}]
        event = parse_report(msgpack.packb(report), "r.mp").events[0]
        assert (event.timestamp, event.extra_data, event.data) == (moment, {}, None)

    def test_hand_written_json(self):
        data = json.dumps(
            {
                "format": "v100",
                "device": "d--0000-0000-0000-002a",
                "streamer_selector": 0xD7FF,
                "incremental_id": 9,
                "device_sent_timestamp": 100,
                "lowest_id": 5,
                "highest_id": 8,
                "data": [
                    {"stream": "5001", "streamer_local_id": 5, "timestamp": "2024-01-02T03:04:05Z", "value": -1},
                    {"stream": "0x5c00", "streamer_local_id": 6, "device_timestamp": 0, "value": 2.0},
                    {"stream": 0x5002, "streamer_local_id": 7, "timestamp": "2024-01-02T04:04:05+01:00", "value": 3},
                    {"stream": "5003", "timestamp": "2024-01-02T03:04:05.250", "value": 4},
                ],
                "events": [{"stream": "5020", "streamer_local_id": 8, "extra_data": {"a": 1}, "data": [1, 2]}],
            }
        ).encode()
        report = parse_report(data, "phone.json")
        assert report.header.device_id == DEVICE
        assert report.header.streamer_index == 0x100  # the client's default when absent
        assert list(report.readings) == [
            Reading(0x5001, 5, None, 0xFFFFFFFF, datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
            Reading(0x5C00, 6, 0, 2, None),
            Reading(0x5002, 7, None, 3, datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
            Reading(0x5003, 0, None, 4, datetime.datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        ]
        assert report.events == [Event(0x5020, 8, None, None, {"a": 1}, [1, 2])]

    def test_missing_lists_are_empty(self):
        body = {
            "format": "v100",
            "device": 1,
            "streamer_index": 2,
            "streamer_selector": 0x5FFF,
            "incremental_id": 1,
            "device_sent_timestamp": 0,
            "lowest_id": 0,
            "highest_id": 0,
        }
        report = parse_report(msgpack.packb(body), "r.mp")
        assert (len(report.readings), report.events, report.header.streamer_index) == (0, [], 2)


class TestReadingTable:
    def test_sequence_api(self):
        table = ReadingTable([1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12])
        assert len(table) == 3
        assert table[1] == Reading(2, 5, 8, 11)
        assert table[-1] == Reading(3, 6, 9, 12)
        assert list(table[1:]) == [Reading(2, 5, 8, 11), Reading(3, 6, 9, 12)]
        assert ReadingTable.from_readings(table).streams == [1, 2, 3]
        assert repr(table) == "<ReadingTable of 3 readings>"

    def test_columns_must_align(self):
        with pytest.raises(ValueError, match="same length"):
            ReadingTable([1], [1, 2], [1], [1])


@pytest.mark.parametrize(
    ("filename", "encoding"),
    [
        ("report.bin", "binary"),
        ("report", "binary"),
        (None, "binary"),
        ("a/b.c/report.MP", "msgpack"),
        ("report.json", "json"),
        ("C:\\uploads\\report.bin", "binary"),
    ],
)
def test_report_encoding(filename, encoding):
    assert report_encoding(filename) == encoding


def test_the_package_needs_no_django():
    # The upload request and the worker share the parsers; they must not need settings or the ORM.
    code = "import sys, server.apps.streamer.reports; assert not any(m.startswith('django') for m in sys.modules)"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    root = Path(__file__).resolve().parents[4]
    subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True)
