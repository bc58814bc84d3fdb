"""Signing and encryption of SignedListReports, and an encoder that builds them.

- Flags 0 (hash): the signature is ``SHA256(signed_data)[:16]``.
- Flags 1 (user key) and 2 (device key): ``report_key = HMAC-SHA256(root_key, pack('<LLL', 2, report_id,
  sent_timestamp))``; the signature is ``HMAC-SHA256(report_key, SHA256(signed_data))[:16]``; the readings are
  encrypted with AES-128-CTR (key ``report_key[:16]``, a 128-bit big-endian counter starting at 1) and the signature
  covers the ciphertext.

``signed_data`` is the whole report but its last 16 bytes. The tests check all of this against iotile-core.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable

from Crypto.Cipher import AES

from .model import SignatureFlags

REPORT_KEY_MAGIC = 2
SIGNATURE_LENGTH = 16
HEADER_LENGTH = 20
FOOTER_LENGTH = 24
READING_LENGTH = 16
SIGNED_LIST_FORMAT = 1


def derive_report_key(root_key: bytes, report_id: int, sent_timestamp: int) -> bytes:
    """The per-report key derived from a device's 32-byte user or device root key."""
    return hmac.new(root_key, struct.pack("<LLL", REPORT_KEY_MAGIC, report_id, sent_timestamp), hashlib.sha256).digest()


def report_signature(signed_data: bytes | memoryview, report_key: bytes | None = None) -> bytes:
    """The 16-byte signature: a plain hash without a key, an HMAC of the hash with one."""
    digest = hashlib.sha256(signed_data).digest()
    if report_key is None:
        return digest[:SIGNATURE_LENGTH]
    return hmac.new(report_key, digest, hashlib.sha256).digest()[:SIGNATURE_LENGTH]


def crypt_readings(report_key: bytes, data: bytes | memoryview) -> bytes:
    """Encrypt or decrypt (CTR mode is symmetric) the readings section of a keyed report."""
    return AES.new(report_key[:16], AES.MODE_CTR, nonce=b"", initial_value=1).encrypt(data)


def build_signed_list_report(
    device_id: int,
    readings: Iterable[tuple[int, int, int, int]],
    *,
    report_id: int = 0,
    sent_timestamp: int = 0,
    streamer_index: int = 0,
    selector: int = 0xFFFF,
    signature_flags: SignatureFlags = SignatureFlags.HASH,
    root_key: bytes | None = None,
) -> bytes:
    """Encode a SignedListReport from ``(stream, reading_id, raw_time, value)`` tuples, as a device would.

    Used by tests and benchmarks; ``root_key`` is required for the keyed flags.
    """
    body: bytes | bytearray = bytearray()
    ids = []
    pack = struct.Struct("<HHLLL").pack
    for stream, reading_id, raw_time, value in readings:
        body += pack(stream, 0, reading_id, raw_time, value)
        if reading_id:
            ids.append(reading_id)
    length = HEADER_LENGTH + len(body) + FOOTER_LENGTH
    header = struct.pack(
        "<LLLLBBH",
        SIGNED_LIST_FORMAT | (length << 8),
        device_id,
        report_id,
        sent_timestamp,
        signature_flags,
        streamer_index,
        selector,
    )
    report_key = None
    if signature_flags != SignatureFlags.HASH:
        if root_key is None:
            raise ValueError("a keyed report needs a root key")
        report_key = derive_report_key(root_key, report_id, sent_timestamp)
        body = crypt_readings(report_key, bytes(body))
    signed_data = header + bytes(body) + struct.pack("<LL", min(ids, default=0), max(ids, default=0))
    return signed_data + report_signature(signed_data, report_key)
