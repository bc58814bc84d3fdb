"""The parsers of what devices send (MQTT replies and presence, status files, S3 event notifications) and of what
users queue (command and configuration payloads) fuzzed with hypothesis: any input is read or refused with the
parser's own error, never a crash; and a batch of fuzzed MQTT messages on a real device's topics is processed
without an exception, each unreadable one an error on the device. Derandomized and bounded, as the report fuzzing
(``streamer/tests/test_reports_fuzz.py``)."""

from __future__ import annotations

import json
import os

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.apps.core.errors import ApplicationError
from server.apps.operation.kinds import clean_command, clean_config
from server.apps.operation.models import DeviceMessageError
from server.apps.operation.services.inbound import MqttMessage, _presence_event, mqtt_messages_process
from server.apps.operation.services.status_files import _entries, _replies, _result
from server.apps.operation.wire import MessageError, json_from_bytes, reply_from_bytes
from server.apps.worker.transports.sqs import s3_event_objects

EXAMPLES = int(os.environ.get("MESSAGE_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", "\x00", "SUCCESS", "FAIL", "RESP", "REQ", "online", "offline", "ok", "aws:s3", "\ud800"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.text(max_size=12),
                st.sampled_from(
                    [
                        "operationId",
                        "status",
                        "type",
                        "value",
                        "error",
                        "name",
                        "commands",
                        "command",
                        "result",
                        "general_status",
                        "general_error",
                        "Records",
                        "eventSource",
                        "eventName",
                        "s3",
                        "bucket",
                        "object",
                        "key",
                        "Event",
                        "action",
                    ]
                ),
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


def encoded(value) -> bytes:
    return json.dumps(value, allow_nan=False).encode("utf-8", errors="surrogatepass")


PAYLOADS = st.one_of(st.binary(max_size=200), JSON.map(encoded))


@FUZZ
@given(PAYLOADS)
def test_replies_are_read_or_refused(data):
    try:
        reply = reply_from_bytes(data)
    except MessageError:
        return
    assert reply.status
    assert reply.raw_id


@FUZZ
@given(PAYLOADS)
def test_presence_messages_are_read_or_refused(data):
    try:
        event = _presence_event(1, MqttMessage("devices/d--0000-0000-0000-0001/presence", data, timezone.now()))
    except MessageError:
        return
    assert event.event in ("connected", "disconnected")


@FUZZ
@given(PAYLOADS)
def test_status_files_are_read_or_refused(data):
    try:
        _, _, commands = _entries(json_from_bytes(data, "status file"))
    except MessageError:
        return
    for reply in _replies(1, [], commands):
        assert reply.operation_id is None  # nothing waits: every entry names nothing
    for entry in commands:
        _result(entry.get("result"))


@FUZZ
@given(JSON)
def test_s3_notifications_are_read_or_refused(body):
    try:
        objects = s3_event_objects(body)
    except ValueError:
        return
    assert objects is None or all(isinstance(b, str) and isinstance(k, str) for b, k in objects)


@FUZZ
@given(st.one_of(st.none(), st.text(max_size=70)), JSON)
def test_queued_payloads_are_cleaned_or_refused(name, payload):
    for clean in (clean_command, clean_config):
        try:
            clean(name, payload)
        except ApplicationError:
            pass


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(["presence", "config_resp", "command_resp", "other"]), PAYLOADS), max_size=8))
def test_a_batch_of_fuzzed_mqtt_messages_is_processed(db, django_capture_on_commit_callbacks, messages):
    from server.apps.device.tests.factories import make_device, make_project

    device = make_device(make_project())
    before = DeviceMessageError.objects.count()
    batch = [MqttMessage(f"devices/{device.slug}/{suffix}", data, timezone.now()) for suffix, data in messages]
    with django_capture_on_commit_callbacks(execute=False):
        summary = mqtt_messages_process(messages=batch)
    assert DeviceMessageError.objects.count() - before == summary.errors
    assert summary.presence + summary.errors + summary.ignored + summary.replies <= len(batch)
