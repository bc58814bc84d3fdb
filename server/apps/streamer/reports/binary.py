"""The binary report formats: IndividualReadingReport (type 0) and SignedListReport (type 1). All little-endian.

SignedListReport: a 20-byte header (format, 24-bit total length, device id, report id, sent timestamp, signature
flags, streamer index, selector), 16 bytes per reading (stream u16, reserved u16, reading id, raw time, value), then
lowest id, highest id and the 16-byte signature. Its length is ``44 + 16 * readings``.

IndividualReadingReport: exactly 20 bytes, ``<BBHLLLL`` (format 0, reserved, stream, device id, sent timestamp,
raw time, value). It has no reading id, no signature and no streamer.
"""

from __future__ import annotations

import hmac
import struct
import sys
from array import array
from collections.abc import Callable

from server.apps.core.slugs import device_slug

from .errors import ReportFormatError, ReportSignatureError
from .model import ParsedReport, ReadingTable, ReportFormat, ReportHeader, SignatureFlags, checked_id_range
from .signing import (
    FOOTER_LENGTH,
    HEADER_LENGTH,
    READING_LENGTH,
    SIGNATURE_LENGTH,
    crypt_readings,
    derive_report_key,
    report_signature,
)

KeyLookup = Callable[[int, SignatureFlags], bytes | None]

INDIVIDUAL_FORMAT = 0
SIGNED_LIST_FORMAT = 1
BROADCAST_FORMAT = 3
INDIVIDUAL_LENGTH = 20
MIN_SIGNED_LIST_LENGTH = HEADER_LENGTH + FOOTER_LENGTH

_HEADER = struct.Struct("<LLLLBBH")
_INDIVIDUAL = struct.Struct("<BBHLLLL")
_IDS = struct.Struct("<LL")
_U32 = "I" if array("I").itemsize == 4 else "L"
_KEY_NAMES = {SignatureFlags.USER_KEY: "user key", SignatureFlags.DEVICE_KEY: "device key"}


def peek_binary(data: bytes, name: str) -> ReportHeader:
    """Check a binary report's framing without verifying or decoding its readings."""
    kind = data[0]
    if kind == SIGNED_LIST_FORMAT:
        return _peek_signed_list(data, name)
    if kind == INDIVIDUAL_FORMAT:
        return _peek_individual(data, name)
    if kind == BROADCAST_FORMAT:
        raise ReportFormatError(
            f"{name}: broadcast reports (format 3) travel over Bluetooth only and cannot be uploaded"
        )
    hint = ""
    if kind == 0x7B:
        hint = "; it looks like JSON: upload it with a .json name"
    elif 0x80 <= kind <= 0x8F or kind in (0xDE, 0xDF):
        hint = "; it looks like msgpack: upload it with a .mp name"
    raise ReportFormatError(
        f"{name}: unknown report format byte 0x{kind:02x}; a binary report starts with 0x01 (SignedListReport) "
        f"or 0x00 (IndividualReadingReport){hint}"
    )


def parse_binary(data: bytes, name: str, key_lookup: KeyLookup | None) -> ParsedReport:
    header = peek_binary(data, name)
    if header.format is ReportFormat.INDIVIDUAL_READING:
        _, _, stream, _, _, raw_time, value = _INDIVIDUAL.unpack(data)
        return ParsedReport(header, ReadingTable([stream], [0], [raw_time], [value]))

    view = memoryview(data)
    report_key = _report_key(header, name, key_lookup)
    expected = report_signature(view[:-SIGNATURE_LENGTH], report_key)
    if not hmac.compare_digest(expected, bytes(view[-SIGNATURE_LENGTH:])):
        if report_key is None:
            reason = "the file is corrupt (its SHA-256 signature does not match its content)"
        else:
            key_name = _KEY_NAMES.get(header.signature_flags) if header.signature_flags is not None else None
            reason = f"the {key_name} is wrong or the file is corrupt"
        raise ReportSignatureError(f"{name}: the report signature does not verify: {reason}")

    body: bytes | memoryview = view[HEADER_LENGTH:-FOOTER_LENGTH]
    if report_key is not None:
        body = crypt_readings(report_key, body)
    return ParsedReport(header, decode_reading_columns(body))


def decode_reading_columns(body: bytes | memoryview) -> ReadingTable:
    """Split packed 16-byte readings into columns without making an object per reading."""
    words = array(_U32)
    words.frombytes(body)
    halves = array("H")
    halves.frombytes(body)
    if sys.byteorder == "big":
        words.byteswap()
        halves.byteswap()
    return ReadingTable(halves[0::8], words[1::4], words[2::4], words[3::4])


def _report_key(header: ReportHeader, name: str, key_lookup: KeyLookup | None) -> bytes | None:
    flags = header.signature_flags
    if flags == SignatureFlags.HASH:
        return None
    assert flags is not None, "every signed list report has signature flags"
    key_name = _KEY_NAMES[flags]
    root_key = key_lookup(header.device_id, flags) if key_lookup is not None else None
    if not root_key:
        raise ReportSignatureError(
            f"{name}: the report is signed and encrypted with a {key_name}, and no {key_name} is known for device "
            f"{device_slug(header.device_id)}"
        )
    return derive_report_key(bytes(root_key), header.report_id, header.sent_timestamp)


def _peek_individual(data: bytes, name: str) -> ReportHeader:
    if len(data) != INDIVIDUAL_LENGTH:
        problem = "is truncated" if len(data) < INDIVIDUAL_LENGTH else "has trailing bytes"
        raise ReportFormatError(
            f"{name}: an IndividualReadingReport is exactly {INDIVIDUAL_LENGTH} bytes, this one has {len(data)} "
            f"(it {problem})"
        )
    _, _, _, device_id, sent_timestamp, _, _ = _INDIVIDUAL.unpack(data)
    return ReportHeader(
        format=ReportFormat.INDIVIDUAL_READING,
        length=INDIVIDUAL_LENGTH,
        device_id=device_id,
        report_id=0,
        sent_timestamp=sent_timestamp,
        signature_flags=None,
        streamer_index=None,
        selector=None,
        lowest_id=0,
        highest_id=0,
        reading_count=1,
    )


def _peek_signed_list(data: bytes, name: str) -> ReportHeader:
    size = len(data)
    if size < HEADER_LENGTH:
        raise ReportFormatError(
            f"{name}: truncated: {size} bytes is shorter than the {HEADER_LENGTH}-byte header of a SignedListReport"
        )
    first_word, device_id, report_id, sent_timestamp, flags, streamer_index, selector = _HEADER.unpack_from(data)
    declared = first_word >> 8
    if declared < MIN_SIGNED_LIST_LENGTH or (declared - MIN_SIGNED_LIST_LENGTH) % READING_LENGTH:
        raise ReportFormatError(
            f"{name}: the header declares a length of {declared} bytes, which no SignedListReport has "
            f"(44 bytes plus 16 per reading)"
        )
    if size < declared:
        raise ReportFormatError(f"{name}: truncated: the header declares {declared} bytes but the file has {size}")
    if size > declared:
        raise ReportFormatError(
            f"{name}: {size - declared} unexpected trailing bytes after the {declared} bytes the header declares"
        )
    if flags not in SignatureFlags._value2member_map_:
        raise ReportFormatError(
            f"{name}: unknown signature flags {flags}; expected 0 (hash), 1 (user key) or 2 (device key)"
        )
    lowest_id, highest_id = _IDS.unpack_from(data, declared - FOOTER_LENGTH)
    checked_id_range(lowest_id, highest_id, name)
    return ReportHeader(
        format=ReportFormat.SIGNED_LIST,
        length=declared,
        device_id=device_id,
        report_id=report_id,
        sent_timestamp=sent_timestamp,
        signature_flags=SignatureFlags(flags),
        streamer_index=streamer_index,
        selector=selector,
        lowest_id=lowest_id,
        highest_id=highest_id,
        reading_count=(declared - MIN_SIGNED_LIST_LENGTH) // READING_LENGTH,
    )
