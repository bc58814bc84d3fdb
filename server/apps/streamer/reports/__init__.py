"""Streamer reports: parsing the formats devices upload, and the rules that turn them into timed readings.

Pure Python with no Django dependency, so the upload request and the worker share it. See docs/ingest-formats.md.
"""

from .errors import ReportError, ReportFormatError, ReportRejectedError, ReportSignatureError
from .model import Event, ParsedReport, Reading, ReadingTable, ReportFormat, ReportHeader, SignatureFlags
from .parsing import parse_report, peek_header, report_encoding
from .rules import PreparedReport, TimedEvent, check_selector, is_system_selector, prepare_report
from .signing import build_signed_list_report
from .timestamps import (
    STATUS_CLEAN,
    STATUS_DIRTY,
    STATUS_UNKNOWN,
    STATUS_UTC,
    TimedReading,
    TimedReadings,
    Timestamps,
    time_base,
)

__all__ = [
    "STATUS_CLEAN",
    "STATUS_DIRTY",
    "STATUS_UNKNOWN",
    "STATUS_UTC",
    "Event",
    "ParsedReport",
    "PreparedReport",
    "Reading",
    "ReadingTable",
    "ReportError",
    "ReportFormat",
    "ReportFormatError",
    "ReportHeader",
    "ReportRejectedError",
    "ReportSignatureError",
    "SignatureFlags",
    "TimedEvent",
    "TimedReading",
    "TimedReadings",
    "Timestamps",
    "build_signed_list_report",
    "check_selector",
    "is_system_selector",
    "parse_report",
    "peek_header",
    "prepare_report",
    "report_encoding",
    "time_base",
]
