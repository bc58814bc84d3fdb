"""Malformed, tampered and unverifiable reports: each is refused with an error an operator can act on."""

import json
import struct

import msgpack
import pytest
from iotile.core.hw.auth.auth_provider import AuthProvider
from iotile.core.hw.reports import IOTileReading, SignedListReport

from server.apps.core.errors import ApplicationError
from server.apps.streamer.reports import (
    ReportFormatError,
    ReportRejectedError,
    ReportSignatureError,
    SignatureFlags,
    build_signed_list_report,
    parse_report,
    peek_header,
)

DEVICE = 0x2A
KEY = bytes(range(32))
ROWS = [(0x5001, i, 10 * i, i * i) for i in range(1, 6)]


@pytest.fixture
def report():
    readings = [IOTileReading(raw, stream, value, reading_id=rid) for stream, rid, raw, value in ROWS]
    return bytes(SignedListReport.FromReadings(DEVICE, readings, report_id=6, sent_timestamp=60).raw_report)


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv(f"USER_KEY_{DEVICE:08X}", KEY.hex())
    readings = [IOTileReading(raw, stream, value, reading_id=rid) for stream, rid, raw, value in ROWS]
    built = SignedListReport.FromReadings(
        DEVICE, readings, root_key=AuthProvider.UserKey, report_id=6, sent_timestamp=60
    )
    return bytes(built.raw_report)


def refused(data, filename="report.bin", error=ReportFormatError, match=None, key_lookup=None, peek=True):
    """The report is refused by peek_header (when ``peek``) and by parse_report, with the same kind of error."""
    if peek:
        with pytest.raises(error, match=match):
            peek_header(data, filename)
    with pytest.raises(error, match=match) as caught:
        parse_report(data, filename, key_lookup)
    assert isinstance(caught.value, ApplicationError)
    assert caught.value.status_code == 400
    assert str(caught.value).startswith(filename or "report")
    return str(caught.value)


def with_length(data, length):
    return struct.pack("<L", 1 | (length << 8)) + data[4:]


class TestBinaryFraming:
    @pytest.mark.parametrize("filename", ["report.bin", "report.mp", "report.json", None])
    def test_empty_file(self, filename):
        refused(b"", filename, match="the report file is empty")

    @pytest.mark.parametrize("size", [1, 4, 19])
    def test_truncated_inside_the_header(self, report, size):
        refused(report[:size], match=f"truncated: {size} bytes is shorter than the 20-byte header")

    @pytest.mark.parametrize("size", [20, 43, 44, 60, 100, 123])
    def test_truncated_after_the_header(self, report, size):
        refused(report[:size], match=f"truncated: the header declares 124 bytes but the file has {size}")

    @pytest.mark.parametrize("extra", [b"\x00", b"\x00" * 16, b"garbage"])
    def test_trailing_bytes(self, report, extra):
        refused(report + extra, match=f"{len(extra)} unexpected trailing bytes after the 124 bytes")

    @pytest.mark.parametrize("declared", [140, 108])
    def test_declared_length_differs_from_the_file(self, report, declared):
        message = refused(with_length(report, declared))
        assert "declares" in message

    @pytest.mark.parametrize("declared", [0, 20, 43, 45, 125])
    def test_impossible_declared_length(self, report, declared):
        refused(with_length(report, declared), match=f"declares a length of {declared} bytes, which no")

    @pytest.mark.parametrize("kind", [2, 4, 0x55, 0xFF])
    def test_unknown_format_byte(self, report, kind):
        refused(bytes([kind]) + report[1:], match=f"unknown report format byte 0x{kind:02x}")

    def test_broadcast_report(self, report):
        refused(b"\x03" + report[1:], match="Bluetooth only")

    def test_msgpack_uploaded_as_bin(self):
        refused(msgpack.packb({"format": "v100"}), match="looks like msgpack: upload it with a .mp name")

    def test_json_uploaded_as_bin(self):
        refused(b'{"format": "v100"}', match="looks like JSON: upload it with a .json name")

    @pytest.mark.parametrize("flags", [3, 7, 255])
    def test_unknown_signature_flags(self, report, flags):
        refused(report[:16] + bytes([flags]) + report[17:], match=f"unknown signature flags {flags}")

    @pytest.mark.parametrize("size", [19, 21])
    def test_individual_reading_report_has_the_wrong_length(self, size):
        data = struct.pack("<BBHLLLL", 0, 0, 0x5001, DEVICE, 0, 10, 20)
        data = data[:size] if size < 20 else data + b"\x00" * (size - 20)
        refused(data, match=f"exactly 20 bytes, this one has {size}")

    def test_a_footer_whose_lowest_id_is_above_its_highest(self, report):
        # As a client writes it: the smallest and the largest of the readings' ids.
        assert struct.unpack("<LL", report[-24:-16]) == (1, 5)
        swapped = report[:-24] + struct.pack("<LL", 5, 1) + report[-16:]
        refused(swapped, match="the lowest reading id 5 is above the highest, 1")

    def test_unsupported_extension(self, report):
        refused(report, "report.txt", match="unsupported file extension '.txt'")


class TestSignatures:
    def test_bad_footer_signature(self, report):
        tampered = report[:-1] + bytes([report[-1] ^ 1])
        assert peek_header(tampered, "r.bin").reading_count == 5  # the cheap check cannot tell
        refused(tampered, "r.bin", ReportSignatureError, match="SHA-256 signature does not match", peek=False)

    @pytest.mark.parametrize("offset", [0 + 4, 20 + 12, 124 - 24, 124 - 20])
    def test_changed_content(self, report, offset):
        # A changed device id, reading value or footer id (the lowest still at most the highest) no longer matches
        # the hash.
        tampered = report[:offset] + bytes([report[offset] ^ 0x01]) + report[offset + 1 :]
        refused(tampered, "r.bin", ReportSignatureError, match="does not verify", peek=False)

    def test_zeroed_signature(self, report):
        refused(report[:-16] + b"\x00" * 16, "r.bin", ReportSignatureError, peek=False)

    def test_wrong_user_key(self, keyed):
        wrong = bytes(reversed(KEY))
        message = refused(keyed, "r.bin", ReportSignatureError, key_lookup=lambda device, flags: wrong, peek=False)
        assert "the user key is wrong or the file is corrupt" in message

    def test_hash_check_of_a_keyed_report(self, keyed):
        # Relabelling a keyed report as hash-only does not get its ciphertext accepted.
        relabelled = keyed[:16] + b"\x00" + keyed[17:]
        refused(relabelled, "r.bin", ReportSignatureError, peek=False)

    @pytest.mark.parametrize("key_lookup", [None, lambda device, flags: None, lambda device, flags: b""])
    def test_unknown_key(self, keyed, key_lookup):
        message = refused(keyed, "r.bin", ReportSignatureError, key_lookup=key_lookup, peek=False)
        assert message == (
            "r.bin: the report is signed and encrypted with a user key, and no user key is known for device "
            "d--0000-0000-0000-002a"
        )

    def test_unknown_device_key(self):
        data = build_signed_list_report(DEVICE, ROWS, signature_flags=SignatureFlags.DEVICE_KEY, root_key=KEY)
        refused(data, "r.bin", ReportSignatureError, match="no device key is known", peek=False)

    def test_keyed_report_with_a_changed_reading(self, keyed):
        tampered = keyed[:30] + bytes([keyed[30] ^ 1]) + keyed[31:]
        refused(tampered, "r.bin", ReportSignatureError, key_lookup=lambda device, flags: KEY, peek=False)


def dictionary(**changes):
    body = {
        "format": "v100",
        "device": DEVICE,
        "streamer_index": 0x100,
        "streamer_selector": 0xFFFF,
        "incremental_id": 3,
        "device_sent_timestamp": 100,
        "lowest_id": 1,
        "highest_id": 2,
        "data": [{"stream": 0x5001, "streamer_local_id": 1, "device_timestamp": 5, "timestamp": None, "value": 1}],
        "events": [],
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


class TestDictionaryReports:
    @pytest.mark.parametrize(
        ("data", "filename", "match"),
        [
            (b"\xc1\xc1\xc1", "r.mp", "not valid msgpack"),
            (b"\x92\x01", "r.mp", "not valid msgpack"),  # a truncated array
            (msgpack.packb(dictionary())[:-3], "r.mp", "not valid msgpack"),
            (msgpack.packb(dictionary()) + b"\x00", "r.mp", "not valid msgpack"),
            (b"{not json", "r.json", "not valid JSON"),
            (b"\xff\xfe\x00", "r.json", "not valid JSON"),
            (json.dumps(dictionary()).encode()[:-2], "r.json", "not valid JSON"),
        ],
    )
    def test_garbage(self, data, filename, match):
        refused(data, filename, match=match)

    @pytest.mark.parametrize(("data", "kind"), [(msgpack.packb([1, 2]), "list"), (b'"text"', "str")])
    def test_not_a_map(self, data, kind):
        refused(data, "r.mp" if kind == "list" else "r.json", match=f"must be a map, not {kind}")

    @pytest.mark.parametrize(
        "key",
        ["format", "device", "streamer_selector", "incremental_id", "device_sent_timestamp", "lowest_id", "highest_id"],
    )
    def test_missing_key(self, key):
        refused(msgpack.packb(dictionary(**{key: ...})), "r.mp", match=f"lacks required keys: {key}")

    def test_several_missing_keys_are_listed(self):
        refused(json.dumps({"format": "v100"}).encode(), "r.json", match="lacks required keys: device, streamer_sel")

    @pytest.mark.parametrize(
        ("changes", "match"),
        [
            ({"format": "v200"}, "unsupported format 'v200'; expected 'v100'"),
            ({"device": "abc"}, "'device' 'abc' is not a device id or a d-- slug"),
            ({"device": -1}, "'device' must be an integer"),
            ({"device": 1 << 48}, "'device' must be an integer"),
            ({"incremental_id": -1}, "'incremental_id' must be an integer from 0 to 4294967295, not -1"),
            ({"incremental_id": "7"}, "'incremental_id' must be an integer"),
            ({"lowest_id": True}, "'lowest_id' must be an integer"),
            ({"lowest_id": 3, "highest_id": 2}, "the lowest reading id 3 is above the highest, 2"),
            ({"streamer_selector": 0x10000}, "'streamer_selector' must be an integer from 0 to 65535"),
            ({"streamer_index": "x"}, "'streamer_index' must be an integer"),
            ({"device_sent_timestamp": 1.5}, "'device_sent_timestamp' must be an integer"),
            ({"data": {"stream": 1}}, "'data' must be a list, not dict"),
            ({"events": "none"}, "'events' must be a list, not str"),
        ],
    )
    def test_bad_header_values(self, changes, match):
        for encoded, filename in (
            (msgpack.packb(dictionary(**changes)), "r.mp"),
            (json.dumps(dictionary(**changes)).encode(), "r.json"),
        ):
            refused(encoded, filename, match=match)

    @pytest.mark.parametrize(
        ("item", "match"),
        [
            ("text", r"data\[0\] must be a map, not str"),
            ({"stream": "zz", "value": 1}, r"data\[0\].stream 'zz' is not a hex stream id"),
            # Other scripts' digits and "_", which int(text, 16) reads as 0x5001.
            ({"stream": "\u0665\u0660\u0660\u0661", "value": 1}, r"data\[0\].stream '.*' is not a hex stream id"),
            ({"stream": "\uff15\uff10\uff10\uff11", "value": 1}, r"data\[0\].stream '.*' is not a hex stream id"),
            ({"stream": "50_01", "value": 1}, r"data\[0\].stream '50_01' is not a hex stream id"),
            ({"stream": 0x10000, "value": 1}, r"data\[0\].stream must be a stream id"),
            ({"value": 1}, r"data\[0\].stream must be a stream id from 0 to 0xffff, not None"),
            ({"stream": 1, "value": 1.5}, r"data\[0\].value must be a raw 32-bit integer, not 1.5"),
            ({"stream": 1, "value": None}, r"data\[0\].value must be a raw 32-bit integer"),
            ({"stream": 1, "value": 1 << 32}, r"data\[0\].value must be a raw 32-bit integer"),
            ({"stream": 1, "value": 1, "timestamp": "yesterday"}, r"data\[0\].timestamp 'yesterday' is not an ISO"),
            ({"stream": 1, "value": 1, "timestamp": 17}, r"data\[0\].timestamp 17 is not an ISO"),
            ({"stream": 1, "value": 1, "streamer_local_id": -2}, r"data\[0\].streamer_local_id must be an integer"),
            ({"stream": 1, "value": 1, "device_timestamp": "5"}, r"data\[0\].device_timestamp must be an integer"),
        ],
    )
    def test_bad_reading(self, item, match):
        refused(msgpack.packb(dictionary(data=[item])), "r.mp", match=match, peek=False)

    @pytest.mark.parametrize(
        ("item", "match"),
        [
            (3, r"events\[0\] must be a map, not int"),
            ({"stream": 1, "extra_data": [1]}, r"events\[0\].extra_data must be a map, not list"),
            ({"stream": 1, "timestamp": ""}, r"events\[0\].timestamp '' is not an ISO"),
        ],
    )
    def test_bad_event(self, item, match):
        refused(json.dumps(dictionary(events=[item])).encode(), "r.json", match=match, peek=False)

    def test_header_check_is_cheap(self):
        # The upload only counts the items; the worker finds the bad one.
        data = msgpack.packb(dictionary(data=["bad", "items"]))
        assert peek_header(data, "r.mp").reading_count == 2
        with pytest.raises(ReportFormatError):
            parse_report(data, "r.mp")


class TestSelectors:
    def test_user_outputs_without_reboots_are_refused_at_upload(self):
        # The worker refuses them too (prepare_report); parse_report only decodes.
        data = build_signed_list_report(DEVICE, ROWS, selector=0x57FF)
        with pytest.raises(ReportRejectedError, match=r"selector 0x57FF .* 0xD7FF") as caught:
            peek_header(data, "r.bin")
        assert caught.value.status_code == 400
        with pytest.raises(ReportRejectedError, match=r"^r\.mp: selector 0x57FF"):
            peek_header(msgpack.packb(dictionary(streamer_selector=0x57FF)), "r.mp")
        assert parse_report(data, "r.bin").header.selector == 0x57FF

    @pytest.mark.parametrize("selector", [0xD7FF, 0x5FFF, 0xFFFF, 0x5001])
    def test_other_selectors_are_accepted(self, selector):
        assert peek_header(build_signed_list_report(DEVICE, ROWS, selector=selector), "r.bin").selector == selector
