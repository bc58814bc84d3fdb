"""Log lines carry the request and correlation ids; production writes them as JSON."""

from __future__ import annotations

import json
import logging

import pytest

from server.apps.core import logs


def record(message: str = "hello %s", *args, **extra) -> logging.LogRecord:
    made = logging.LogRecord("server.test", logging.WARNING, __file__, 1, message, args or ("world",), None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_a_line_is_one_json_object_with_the_ids_and_the_extra_fields():
    line = record(status=404, path="/api/v1/device/", client=object())
    with logs.log_context(request="r1", correlation="c1"):
        assert logs.LogContextFilter().filter(line)
    decoded = json.loads(logs.JsonFormatter().format(line))
    assert decoded["message"] == "hello world"
    assert decoded["level"] == "WARNING"
    assert decoded["logger"] == "server.test"
    assert (decoded["request_id"], decoded["correlation_id"]) == ("r1", "c1")
    assert (decoded["status"], decoded["path"]) == (404, "/api/v1/device/")
    assert decoded["client"].startswith("<object object")
    assert decoded["time"].endswith("+00:00")


def test_an_exception_is_written_with_its_traceback():
    try:
        raise ValueError("bad value")
    except ValueError:
        import sys

        line = record(exc_info=sys.exc_info())
    decoded = json.loads(logs.JsonFormatter().format(line))
    assert "ValueError: bad value" in decoded["exception"]


def test_outside_any_context_the_ids_are_empty_and_the_correlation_defaults_to_the_request():
    line = record()
    logs.LogContextFilter().filter(line)
    assert (line.request_id, line.correlation_id) == ("", "")
    with logs.log_context(request="r2"):
        assert logs.correlation_id.get() == "r2"
    assert logs.request_id.get() == ""


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("3f2a9c", True),
        ("req-1.2:3_x", True),
        ("", False),
        ("a" * 129, False),
        ("two words", False),
        ('x"}\n{"forged": 1', False),
        ("-leading-dash", False),
    ],
)
def test_only_well_formed_ids_are_taken_from_a_client(sent, kept):
    assert logs.clean_id(sent) == (sent if kept else "")
