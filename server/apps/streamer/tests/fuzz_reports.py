"""One report through every parser step, as the upload request and the worker run them, for the fuzzers.

``check_report(data, filename)`` must either accept the report or refuse it with a ``ReportError`` (a clean 400 for
the upload, a dead letter for the worker); any other exception is a crash. The hypothesis tests
(test_reports_fuzz.py) and the coverage-guided atheris run (``inv fuzz``, ``python -m
server.apps.streamer.tests.fuzz_reports``) both call it.
"""

from __future__ import annotations

import datetime
import json
import sys

from server.apps.core.inputs import check_structure
from server.apps.streamer.reports import ReportError, SignatureFlags, parse_report, peek_header, prepare_report

RECEIVED = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
ROOT_KEY = bytes(range(32))
NAMES = ("report.bin", "report", "report.mp", "report.json")


def _key_lookup(device_id: int, flags: SignatureFlags) -> bytes:
    return ROOT_KEY


def check_report(data: bytes, filename: str, last_id: int = 0) -> bool:
    """Run ``data`` through the upload's checks and the worker's parse and rules. True when it is accepted, False
    when it is refused cleanly; anything else raised is a crash."""
    try:
        peek_header(data, filename)
        parsed = parse_report(data, filename, key_lookup=_key_lookup)
        prepared = prepare_report(parsed, received_time=RECEIVED, last_id=last_id)
    except ReportError:
        return False
    # What the worker then stores must be storable: the readings' times are real instants, events' extra data is
    # JSON PostgreSQL takes, and their raw data can be written out as JSON.
    for reading in prepared.readings:
        assert reading.timestamp.tzinfo is not None
    for event in prepared.events:
        check_structure(event.extra_data)
        json.dumps(event.data, default=lambda value: value.hex() if isinstance(value, bytes) else str(value))
    return True


def main() -> None:  # pragma: no cover - the atheris entry point, run by inv fuzz
    import atheris

    def one_input(data: bytes) -> None:
        if not data:
            return
        check_report(data[1:], NAMES[data[0] % len(NAMES)])

    atheris.instrument_all()  # coverage feedback from every module loaded, the parsers among them
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    main()
