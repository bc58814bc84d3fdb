"""The two entry points: ``peek_header`` for the upload request, ``parse_report`` for the worker.

The file name decides the encoding, as the clients name their uploads: ``.mp`` is a msgpack dictionary report,
``.json`` a JSON one, and ``.bin`` or no extension a binary report recognised by its first byte. Any other
extension is refused rather than guessed.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from .binary import KeyLookup, parse_binary, peek_binary
from .dictionary import header_from_dictionary, load_dictionary, parse_dictionary
from .errors import ReportFormatError
from .model import ParsedReport, ReportHeader
from .rules import check_selector

BINARY = "binary"
MSGPACK = "msgpack"
JSON = "json"
ENCODINGS = {"": BINARY, ".bin": BINARY, ".mp": MSGPACK, ".json": JSON}


def report_encoding(filename: str | None) -> str:
    """``binary``, ``msgpack`` or ``json`` from the upload's file name."""
    suffix = PurePosixPath((filename or "").replace("\\", "/")).suffix.lower()
    try:
        return ENCODINGS[suffix]
    except KeyError:
        raise ReportFormatError(
            f"{filename}: unsupported file extension '{suffix}'; a report is .bin (or no extension), .mp or .json"
        ) from None


def peek_header(data: bytes, filename: str | None = None) -> ReportHeader:
    """Cheap checks for the upload request: framing, length, declared counts, keys and the streamer selector.
    Signatures are not checked (the worker does that).

    Raises ReportFormatError (or ReportRejectedError for a refused selector) with a message for the operator.
    """
    name, encoding = _name(filename), report_encoding(filename)
    _check_not_empty(data, name)
    if encoding == BINARY:
        header = peek_binary(data, name)
    else:
        header = header_from_dictionary(load_dictionary(data, name, encoding), name, len(data))
    check_selector(header.selector, name)
    return header


def parse_report(data: bytes, filename: str | None = None, key_lookup: KeyLookup | None = None) -> ParsedReport:
    """Decode a whole report: verify its signature, decrypt it if it is keyed, and return its raw readings.

    ``key_lookup(device_id, signature_flags)`` returns the device's 32-byte user or device root key, or None. Raises
    ReportFormatError for malformed files and ReportSignatureError for a missing key or a signature that fails.
    """
    name, encoding = _name(filename), report_encoding(filename)
    _check_not_empty(data, name)
    if encoding == BINARY:
        return parse_binary(data, name, key_lookup)
    return parse_dictionary(load_dictionary(data, name, encoding), name, len(data))


def _name(filename: str | None) -> str:
    return filename or "report"


def _check_not_empty(data: bytes, name: str) -> None:
    if not data:
        raise ReportFormatError(f"{name}: the report file is empty")
