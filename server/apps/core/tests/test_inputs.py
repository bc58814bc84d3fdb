"""core/inputs.py: the strict parsing every outside input goes through."""

from __future__ import annotations

import json

import msgpack
import pytest

from server.apps.core import inputs
from server.apps.core.inputs import InputError


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": [1, 2.5, "x", true, null]}', {"a": [1, 2.5, "x", True, None]}),
        ('"\\ud83d\\ude00 [{"', "\U0001f600 [{"),
        (nested(64), json.loads(nested(64))),
        ('{"brackets in text": "[[[[[[[[["}', {"brackets in text": "[[[[[[[[["}),
    ],
)
def test_json_that_is_accepted(text, value):
    assert inputs.json_loads(text) == value
    assert inputs.json_loads(text.encode()) == value


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (nested(65), "nests more than 64"),
        (nested(100_000), "nests more than 64"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nests more than 64"),
        ('{"name": "a\\u0000b"}', "NUL"),
        ('{"a\\u0000": 1}', "NUL"),
        ('["\\ud800"]', "surrogate"),
        ('{"\\udfff": 1}', "surrogate"),
        ("[NaN]", "not a valid JSON number"),
        ("[Infinity]", "not a valid JSON number"),
        ("[1e999]", "out of range"),
        ("[1" + "0" * 5000 + "]", "Invalid JSON"),
        ("{", "Invalid JSON"),
        (b"\xff\xfe", "not valid UTF-8"),
        (b'"\xed\xa0\x80"', "not valid UTF-8"),
    ],
)
def test_json_that_is_refused(data, reason):
    with pytest.raises(InputError, match=reason):
        inputs.json_loads(data)


def test_msgpack_accepts_json_kinds_and_bytes_only_when_asked():
    document = {"a": [1, 2.5, "x", True, None], "b": {"c": -1}}
    assert inputs.msgpack_loads(msgpack.packb(document)) == document
    with pytest.raises(InputError, match="bytes"):
        inputs.msgpack_loads(msgpack.packb({"a": b"raw"}))
    assert inputs.msgpack_loads(msgpack.packb({"a": b"raw"}), allow_bytes=True) == {"a": b"raw"}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x91" * 100_000 + b"\xc0", "msgpack"),
        (msgpack.packb(json.loads(nested(65))), "nests more than 64"),
        (msgpack.packb({"a": "x\x00"}), "NUL"),
        (msgpack.packb({"a": float("nan")}), "finite"),
        (msgpack.packb({"a": float("inf")}), "finite"),
        (msgpack.packb({1: "integer key"}), "msgpack"),
        (msgpack.packb(msgpack.ExtType(5, b"x")), "extension type 5"),
        (b"\xd6\xff\x00\x00\x00\x01", "Timestamp"),  # the timestamp extension
        (b"\xa1\xff", "msgpack"),  # text that is not UTF-8
        (b"\x92\x01", "msgpack"),  # cut short
    ],
)
def test_msgpack_that_is_refused(data, reason):
    with pytest.raises(InputError, match=reason):
        inputs.msgpack_loads(data)


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("1", 1), ("0042", 42), (str(2**63 - 1), 2**63 - 1), (7, 7)])
def test_ids_that_parse(text, value):
    assert inputs.parse_id(text) == value
    assert inputs.is_id(str(text))


@pytest.mark.parametrize("text", ["-1", "+1", " 1", "1 ", "1_0", "\u0661", "1.0", "", "0x1", str(2**63), -1, True])
def test_ids_that_are_refused(text):
    with pytest.raises(InputError):
        inputs.parse_id(text)
    if isinstance(text, str):
        assert not inputs.is_id(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("12", 12), ("0012", 12), ("1000", 1000), ("1001", 1000), ("1" + "0" * 30, 1000), ("9" * 5000, 1000)],
)
def test_counts_that_parse_up_to_their_cap(text, value):
    assert inputs.parse_count(text, cap=1000) == value


@pytest.mark.parametrize(
    "text", ["\u0661\u0662", "\uff11\uff12", "1_2", "+12", "-1", " 12", "12 ", "12.0", "1e3", "", "0x1", "NaN", 12]
)
def test_counts_that_are_refused(text):
    with pytest.raises(InputError):
        inputs.parse_count(text, cap=1000)


def test_a_count_below_its_minimum_is_refused():
    for text in ("0", "000"):
        with pytest.raises(InputError):
            inputs.parse_count(text, cap=10, minimum=1)
    assert inputs.parse_count("01", cap=10, minimum=1) == 1


@pytest.mark.parametrize(("text", "reason"), [("ok", None), ("a\x00", "NUL"), ("\ud800", "surrogate"), ("😀", None)])
def test_bad_text_reason(text, reason):
    found = inputs.bad_text_reason(text)
    assert (found is None) if reason is None else (reason in found)


def test_uuids_in_their_canonical_form_only():
    value = "9256d8f2-2720-449c-aa56-6c10a9c16c41"
    assert str(inputs.parse_uuid(value)) == value
    assert str(inputs.parse_uuid(value.upper())) == value
    for odd in [f"-{value}", f"{{{value}}}", f"urn:uuid:{value}", value.replace("-", ""), f"{value} ", value[:-1]]:
        with pytest.raises(InputError):
            inputs.parse_uuid(odd)
