"""The report parsers (binary, msgpack, JSON) fuzzed with hypothesis: any input is accepted or refused with a
ReportError, never a crash (fuzz_reports.check_report). Derandomized and bounded, so CI runs the same inputs each time;
``inv fuzz`` runs atheris on the same check for longer."""

from __future__ import annotations

import json
import os

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.apps.streamer.reports import SignatureFlags, build_signed_list_report
from server.apps.streamer.tests.fuzz_reports import NAMES, ROOT_KEY, check_report

EXAMPLES = int(os.environ.get("REPORT_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
ODD_NUMBERS = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 0xFFFF, 0x10000, 0xFFFFFFFF, 2**32, -1, 2**64 - 1, -(2**63)]),
)
TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "\x00",
            "5001",
            "0x5001",
            "d--0000-0000-0000-0001",
            "2026-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "v100",
            "nan",
        ]
    ),
)
SCALARS = st.one_of(st.none(), st.booleans(), ODD_NUMBERS, TEXT, st.binary(max_size=8))
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12
)


@FUZZ
@given(data=st.binary(max_size=400), name=st.sampled_from(NAMES))
def test_any_bytes_under_any_name(data, name):
    check_report(data, name)


@FUZZ
@given(
    readings=st.lists(st.tuples(U16, U32, U32, U32), max_size=12),
    device=st.integers(0, 0xFFFFFFFF),
    report_id=U32,
    sent_timestamp=U32,
    selector=U16,
    streamer=st.integers(0, 0xFF),
    flags=st.sampled_from(list(SignatureFlags)),
    last_id=U32,
    cut=st.none() | st.integers(0, 300),
    flip=st.none() | st.tuples(st.integers(0, 300), st.integers(1, 255)),
)
def test_signed_list_reports(
    readings, device, report_id, sent_timestamp, selector, streamer, flags, last_id, cut, flip
):
    # Well signed, with any readings, ids, times and selector; then cut short or with a byte changed.
    report = bytearray(
        build_signed_list_report(
            device,
            readings,
            report_id=report_id,
            sent_timestamp=sent_timestamp,
            streamer_index=streamer,
            selector=selector,
            signature_flags=flags,
            root_key=ROOT_KEY,
        )
    )
    check_report(bytes(report), "report.bin", last_id=last_id)
    if cut is not None:
        check_report(bytes(report[:cut]), "report.bin")
    if flip is not None and flip[0] < len(report):
        report[flip[0]] ^= flip[1]
        check_report(bytes(report), "report.bin")


def _dictionary(fields, readings, events) -> dict:
    report = {
        "format": "v100",
        "device": 1,
        "streamer_index": 0x100,
        "streamer_selector": 0x5FFF,
        "incremental_id": 1,
        "device_sent_timestamp": 10,
        "lowest_id": 1,
        "highest_id": 2,
        "data": readings,
        "events": events,
    }
    report.update(fields)
    return report


READING = st.fixed_dictionaries(
    {},
    optional={
        "stream": st.one_of(U16, TEXT, ODD_NUMBERS),
        "streamer_local_id": st.one_of(U32, ODD_NUMBERS, st.none()),
        "device_timestamp": st.one_of(U32, ODD_NUMBERS, st.none()),
        "timestamp": st.one_of(TEXT, st.none(), ODD_NUMBERS),
        "value": st.one_of(U32, ODD_NUMBERS, TEXT),
    },
)
EVENT = st.fixed_dictionaries(
    {},
    optional={
        "stream": st.one_of(U16, TEXT),
        "streamer_local_id": st.one_of(U32, ODD_NUMBERS),
        "device_timestamp": st.one_of(U32, st.none()),
        "timestamp": st.one_of(TEXT, st.none()),
        "extra_data": VALUES,
        "data": VALUES,
    },
)
FIELDS = st.dictionaries(
    st.sampled_from(
        [
            "format",
            "device",
            "streamer_index",
            "streamer_selector",
            "incremental_id",
            "device_sent_timestamp",
            "lowest_id",
            "highest_id",
            "data",
            "events",
        ]
    ),
    VALUES,
    max_size=3,
)


@FUZZ
@given(
    fields=FIELDS,
    readings=st.lists(st.one_of(READING, VALUES), max_size=6),
    events=st.lists(st.one_of(EVENT, VALUES), max_size=4),
    last_id=U32,
)
def test_dictionary_reports(fields, readings, events, last_id):
    report = _dictionary(fields, readings, events)
    check_report(msgpack.packb(report, use_bin_type=True), "report.mp", last_id=last_id)
    try:
        text = json.dumps(report, default=lambda value: value.hex())
    except ValueError:  # a key json cannot write
        return
    check_report(text.encode(), "report.json", last_id=last_id)


def test_a_well_formed_dictionary_report_is_accepted():
    # The fuzzers' check accepts real reports, so their refusals mean something.
    readings = [{"stream": 0x5001, "streamer_local_id": 1, "device_timestamp": 5, "value": 7, "timestamp": None}]
    events = [{"stream": 0x5020, "streamer_local_id": 2, "timestamp": "2026-01-01T00:00:00Z", "extra_data": {"a": 1}}]
    report = _dictionary({}, readings, events)
    assert check_report(msgpack.packb(report), "report.mp")
    assert check_report(json.dumps(report).encode(), "report.json")
    assert check_report(build_signed_list_report(1, [(0x5001, 1, 10, 3)], selector=0x5FFF), "report.bin")


def test_nested_nul_and_surrogates_are_refused():
    deep = _dictionary({}, [], [{"stream": 0x5020, "streamer_local_id": 2, "extra_data": {"a": [[[[[]]]]] * 1}}])
    for extra in ({"x": "a\x00"}, {"\x00": 1}, json.loads('{"x": "\\ud800"}')):
        report = _dictionary({}, [], [{"stream": 0x5020, "streamer_local_id": 2, "extra_data": extra}])
        assert not check_report(json.dumps(report).encode(), "report.json")
    nested = "[" * 100_000 + "]" * 100_000
    assert not check_report(nested.encode(), "report.json")
    assert not check_report(b"\x91" * 100_000 + b"\xc0", "report.mp")
    assert check_report(json.dumps(deep).encode(), "report.json")
