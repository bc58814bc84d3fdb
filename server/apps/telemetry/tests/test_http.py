"""HTTP telemetry (ThingsBoard's ``POST /api/v1/<token>/telemetry``): the raw log, values on the device's streams,
idempotent delivery, and every refusal (401, 400, 413, 429), with what was saved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from server.apps.core.testing import make_member, make_user
from server.apps.device.services import device_update
from server.apps.device.tests.factories import make_project
from server.apps.deviceauth.models import DeviceKeyType
from server.apps.deviceauth.services import device_key_revoke, device_token_issue, device_token_key_rotate
from server.apps.org.models import OrgMembership
from server.apps.org.roles import OPERATOR
from server.apps.org.services import org_member_remove
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.streamdata.models import StreamData
from server.apps.telemetry.models import PhysicalDevice, RawMessage, RawMessageStatus
from server.apps.telemetry.services.ingest import TELEMETRY_LID_FIRST
from server.apps.telemetry.tests.factories import make_token_device, telemetry_url

pytestmark = pytest.mark.django_db(databases=["default", "streamdata"])

TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def post(token: str, body, **headers) -> object:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return APIClient().post(telemetry_url(token), data=data, content_type="application/json", **headers)


def rows_of(device) -> list[tuple[str, datetime, float]]:
    streams = {s.series: s.var_name for s in StreamId.objects.filter(device=device)}
    return sorted(
        (streams[row.series], row.timestamp, row.value) for row in StreamData.objects.filter(series__in=list(streams))
    )


@pytest.fixture
def posting():
    project = make_project(name="Farm")
    return make_token_device(project)


def test_one_timed_entry_is_stored_raw_then_as_series_values(posting):
    device, token = posting
    body = {"ts": TS, "values": {"temperature": 21.5, "humidity": 40, "door": True}}
    response = post(token, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["status"] == "unmapped"
    assert answer["stored"] == 3
    assert answer["duplicate"] is False
    raw = RawMessage.objects.get(correlation_id=answer["correlation_id"])
    assert (raw.source, raw.device_id, raw.org_id, raw.status) == ("http", device.pk, device.org_id, "unmapped")
    assert json.loads(raw.body) == body
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert rows_of(device) == [("door", when, 1.0), ("humidity", when, 40.0), ("temperature", when, 21.5)]
    # Every value traces back to its raw message.
    assert sorted(raw.data_ids) == sorted(StreamData.objects.values_list("id", flat=True))
    for row_id in raw.data_ids:
        assert RawMessage.objects.get(data_ids__contains=[row_id]) == raw
    # Keys became variables of the project from 0x8000 up; the device is now a physical device.
    lids = dict(StreamVariable.objects.filter(project=device.project).values_list("name", "lid"))
    assert sorted(lids.values()) == [TELEMETRY_LID_FIRST, TELEMETRY_LID_FIRST + 1, TELEMETRY_LID_FIRST + 2]
    physical = PhysicalDevice.objects.get(device=device)
    assert (physical.source_name, physical.last_seen) == ("http", when)


def test_plain_keys_and_a_list_of_entries(posting):
    device, token = posting
    before = timezone.now()
    assert post(token, {"pressure": 1013}).status_code == 200
    entries = [{"ts": TS + i * 60_000, "values": {"pressure": 1000 + i, "level": "2.5"}} for i in range(3)]
    answer = post(token, entries).json()
    assert answer["stored"] == 6
    rows = rows_of(device)
    assert [value for name, _, value in rows if name == "level"] == [2.5, 2.5, 2.5]
    plain = [moment for name, moment, value in rows if value == 1013]
    assert len(plain) == 1
    assert plain[0] >= before
    # Same key, same variable: one stream per key.
    assert StreamId.objects.filter(device=device).count() == 2


def test_a_message_delivered_again_is_stored_once(posting):
    _device, token = posting
    first = post(token, {"temperature": 20}, HTTP_X_MESSAGE_ID="m-1").json()
    again = post(token, {"temperature": 20}, HTTP_X_MESSAGE_ID="m-1").json()
    assert again == {**first, "duplicate": True, "stored": 0}
    assert RawMessage.objects.count() == 1
    assert StreamData.objects.count() == 1
    # A timed body sent again is the same message, without an id.
    timed = {"ts": TS, "values": {"temperature": 19}}
    assert post(token, timed).json()["duplicate"] is False
    assert post(token, timed).json()["duplicate"] is True
    assert StreamData.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "Invalid JSON"),
        ({"temperature": "warm"}, "not a number"),
        ({"ts": "yesterday", "values": {"a": 1}}, "epoch milliseconds"),
        ({"ts": TS, "values": {}}, "at least one key"),
        ({"ts": TS, "values": {"a": 1}, "extra": 2}, "only"),
        ([], "empty"),
        ({"nested": {"a": 1}}, "not a number"),
        ({"": 1}, "A key is text"),
    ],
)
def test_a_bad_body_is_a_400_kept_raw_as_refused(posting, body, reason):
    device, token = posting
    response = post(token, body)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    raw = RawMessage.objects.get()
    assert (raw.status, raw.device_id) == (RawMessageStatus.REFUSED, device.pk)
    assert reason in raw.error
    assert StreamData.objects.count() == 0


def test_a_time_more_than_an_hour_ahead_is_refused(posting):
    _device, token = posting
    ahead = int((timezone.now() + timedelta(hours=2)).timestamp() * 1000)
    response = post(token, {"ts": ahead, "values": {"a": 1}})
    assert response.status_code == 400
    assert "ahead" in response.json()["detail"]
    assert RawMessage.objects.get().status == RawMessageStatus.REFUSED
    assert StreamData.objects.count() == 0
    soon = int((timezone.now() + timedelta(minutes=30)).timestamp() * 1000)
    assert post(token, {"ts": soon, "values": {"a": 1}}).status_code == 200


def test_a_bad_or_revoked_token_is_a_401_and_nothing_is_stored(posting):
    device, token = posting
    assert post("not-a-token", {"a": 1}).status_code == 401
    assert post(token[:-4] + "AAAA", {"a": 1}).status_code == 401
    device_token_key_rotate(device=device)
    assert post(token, {"a": 1}).status_code == 401
    assert RawMessage.objects.count() == 0


@pytest.mark.parametrize("disable", ["device", "user", "membership", "key"])
def test_a_disabled_device_user_membership_or_key_is_a_401_at_once(posting, disable):
    device, _ = posting
    owner = device.org.created_by
    member = make_member(device.org)
    token = device_token_issue(user=member, device=device)
    assert post(token, {"a": 1}).status_code == 200
    if disable == "device":
        device_update(device=device, user=owner, active=False)
    elif disable == "user":
        member.is_active = False
        member.save(update_fields=["is_active"])
    elif disable == "membership":
        # The CLI's `users token --disable`: the member is removed from the organisation.
        org_member_remove(membership=OrgMembership.objects.get(user=member, org=device.org), removed_by=owner)
    else:
        device_key_revoke(device=device, type=DeviceKeyType.A_JWT, revoked_by=make_user(is_staff=True))
    response = post(token, {"a": 2})
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"]
    assert RawMessage.objects.count() == 1


def test_a_token_whose_user_may_not_add_data_is_a_403(posting):
    device, _ = posting
    reader = make_member(device.org, role=OPERATOR)
    OrgMembership.objects.filter(user=reader, org=device.org).update(permissions={"can_read_stream_ids": True})
    token = device_token_issue(user=reader, device=device)
    assert post(token, {"a": 1}).status_code == 403
    assert RawMessage.objects.count() == 0


def test_a_body_over_the_limit_is_a_413(posting, settings):
    _device, token = posting
    settings.REQUEST_MAX_BODY_BYTES = 200
    response = post(token, {"k": [1] * 200})
    assert response.status_code == 413
    assert RawMessage.objects.count() == 0


def test_over_the_device_rate_is_a_429(posting, settings):
    _device, token = posting
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "device": "2/m"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    codes = [post(token, {"a": i}).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert RawMessage.objects.count() == 2
