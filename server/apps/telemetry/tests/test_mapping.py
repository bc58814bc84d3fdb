"""Physical → logical mapping on stream aliases: IoTa's acceptance scenarios (a replacement with no gap, a paused
mapping, a message from the future, a replayed correlation id) and its mapping rules, over HTTP telemetry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.core.testing import api_client
from server.apps.device.tests.factories import make_device, make_project
from server.apps.streamdata.models import StreamData
from server.apps.telemetry.models import DeviceMapping, RawMessage, RawMessageStatus
from server.apps.telemetry.services.mapping import mapping_end, mapping_start, mapping_toggle
from server.apps.telemetry.tests.factories import (
    logical_values,
    make_logical,
    make_physical_of,
    make_token,
    routed_consumer,
    telemetry_url,
)

pytestmark = pytest.mark.django_db(databases=["default", "streamdata"])

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def send(token: str, moment: datetime, **values) -> dict:
    response = APIClient().post(
        telemetry_url(token), data=json.dumps({"ts": ms(moment), "values": values}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def field():
    """Sensor A sending level readings, known as a physical device, and a logical device "Tank 3"."""
    project = make_project(name="Farm")
    sensor_a = make_device(project, label="Sensor A")
    physical_a = make_physical_of(sensor_a)
    return project, sensor_a, physical_a, make_logical(project)


def test_1_a_replacement_reads_on_without_a_gap(field):
    project, sensor_a, physical_a, tank = field
    owner = project.org.created_by
    token_a = make_token(sensor_a)
    mapping_a = mapping_start(user=owner, physical=physical_a, logical=tank, start=T0)
    for hour in range(3):
        send(token_a, T0 + timedelta(hours=hour, minutes=30), level=10 + hour)
    # Sensor B replaces A at T0+3h: B is mapped to the tank, which ends A's mapping at that instant.
    swap = T0 + timedelta(hours=3)
    sensor_b = make_device(project, label="Sensor B")
    physical_b = make_physical_of(sensor_b)
    mapping_b = mapping_start(user=owner, physical=physical_b, logical=tank, start=swap)
    token_b = make_token(sensor_b)
    for hour in range(3, 5):
        send(token_b, T0 + timedelta(hours=hour, minutes=30), level=20 + hour)
    # A late reading of A after the swap stays on A's own stream, out of the tank's series.
    send(token_a, T0 + timedelta(hours=4), level=99)
    mapping_a.refresh_from_db()
    assert mapping_a.end == swap
    assert mapping_b.end is None
    assert [value for _, value in logical_values(tank, "level")] == [10, 11, 12, 23, 24]
    assert [entry["action"] for entry in mapping_a.history] == ["start", "end"]


@pytest.mark.parametrize("paused", [False, True])
def test_1_replacing_the_device_moves_its_mapping_and_the_series_read_on(field, paused):
    """The same replacement through the device's own door (``device/<d>/replace/``), all over HTTP."""
    project, sensor_a, physical_a, tank = field
    owner = project.org.created_by
    mapping_a = mapping_start(user=owner, physical=physical_a, logical=tank, start=T0)
    token_a = make_token(sensor_a)
    for hour in range(3):
        send(token_a, T0 + timedelta(hours=hour, minutes=30), level=10 + hour, battery=3.3)
    if paused:
        mapping_toggle(user=owner, physical=physical_a, is_active=False)
    swap = timezone.now() - timedelta(hours=1) if paused else T0 + timedelta(hours=3)
    sensor_b = make_device(project, label="Sensor B")
    response = api_client(owner).post(
        f"/api/v1/device/{sensor_a.slug}/replace/",
        {"new_device": sensor_b.slug, "timestamp": swap.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.content
    # A is retired with the replacement: its token no longer sends.
    assert APIClient().post(telemetry_url(token_a), data="{}", content_type="application/json").status_code == 401
    token_b = make_token(sensor_b)
    answer = send(token_b, swap + timedelta(minutes=30), level=23, battery=3.2)

    mapping_a.refresh_from_db()
    mapping_b = DeviceMapping.objects.get(physical_device__device=sensor_b)
    assert (mapping_a.end, mapping_b.start, mapping_b.end) == (swap, swap, None)
    assert mapping_b.logical_device_id == tank.pk
    assert mapping_b.physical_device.source_name == "http"
    assert [entry["action"] for entry in mapping_b.history] == ["start"]
    if paused:
        assert (answer["status"], mapping_b.is_active) == (RawMessageStatus.PAUSED, False)
        assert [value for _, value in logical_values(tank, "level")] == [10, 11, 12]
        mapping_toggle(user=owner, physical=mapping_b.physical_device, is_active=True)
        send(token_b, timezone.now() + timedelta(minutes=1), level=25)
        assert [value for _, value in logical_values(tank, "level")] == [10, 11, 12, 25]
        return
    assert answer["status"] == RawMessageStatus.ROUTED
    assert RawMessage.objects.get(correlation_id=answer["correlation_id"]).logical_device_id == tank.pk
    # Both series read A before the swap and B from it, with nothing in between missing.
    assert logical_values(tank, "level") == [
        (T0 + timedelta(hours=0, minutes=30), 10),
        (T0 + timedelta(hours=1, minutes=30), 11),
        (T0 + timedelta(hours=2, minutes=30), 12),
        (swap + timedelta(minutes=30), 23),
    ]
    assert [value for _, value in logical_values(tank, "battery")] == [3.3, 3.3, 3.3, 3.2]


def test_a_replacement_by_a_device_mapped_elsewhere_is_refused_whole(field):
    project, sensor_a, physical_a, tank = field
    owner = project.org.created_by
    mapping_start(user=owner, physical=physical_a, logical=tank, start=T0)
    sensor_b = make_device(project, label="Sensor B")
    mapping_start(user=owner, physical=make_physical_of(sensor_b), logical=make_logical(project, "Tank 4"), start=T0)
    response = api_client(owner).post(
        f"/api/v1/device/{sensor_a.slug}/replace/",
        {"new_device": sensor_b.slug, "timestamp": (T0 + timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert "mapped" in response.json()["detail"]
    sensor_a.refresh_from_db()
    assert sensor_a.active
    assert DeviceMapping.objects.get(physical_device=physical_a).end is None


def test_2_an_unknown_device_is_stored_raw_and_unmapped_with_no_logical_data(field):
    project, _, _, tank = field
    newcomer = make_device(project, label="Newcomer")
    answer = send(make_token(newcomer), T0, level=5)
    assert answer["status"] == RawMessageStatus.UNMAPPED
    raw = RawMessage.objects.get(correlation_id=answer["correlation_id"])
    assert raw.logical_device_id is None
    assert len(raw.data_ids) == 1
    listed = APIClient()
    listed.force_authenticate(project.org.created_by)
    unmapped = listed.get("/api/v1/pd/", {"unmapped": "true"}).json()["results"]
    assert newcomer.pk in [item["uid"] for item in unmapped]
    assert not tank.series.exists()


def test_3_a_paused_mapping_keeps_data_without_routing_it_and_resume_restores_it(field):
    project, sensor_a, physical_a, tank = field
    owner = project.org.created_by
    token = make_token(sensor_a)
    mapping_start(user=owner, physical=physical_a, logical=tank, start=T0)
    with routed_consumer() as forwarded:
        first = send(token, timezone.now() - timedelta(minutes=5), level=1)
        mapping_toggle(user=owner, physical=physical_a, is_active=False)
        paused = send(token, timezone.now(), level=2)
        mapping_toggle(user=owner, physical=physical_a, is_active=True)
        resumed = send(token, timezone.now() + timedelta(minutes=5), level=3)
    assert [first["status"], paused["status"], resumed["status"]] == ["routed", "paused", "routed"]
    assert [message["broker_correlation_id"] for message in forwarded] == [
        first["correlation_id"],
        resumed["correlation_id"],
    ]
    message = forwarded[0]
    assert (message["p_uid"], message["l_uid"], message["source"]) == (sensor_a.pk, tank.pk, "http")
    assert message["timeseries"] == [{"name": "level", "value": 1.0}]
    # The paused value is kept on the physical stream, out of the logical series.
    assert StreamData.objects.count() == 3
    assert [value for _, value in logical_values(tank, "level")] == [1.0, 3.0]
    mapping = DeviceMapping.objects.get(physical_device=physical_a)
    assert [entry["action"] for entry in mapping.history] == ["start", "pause", "resume"]


def test_3b_a_message_two_hours_ahead_is_refused(field):
    project, sensor_a, physical_a, tank = field
    mapping_start(user=project.org.created_by, physical=physical_a, logical=tank, start=T0)
    body = {"ts": ms(timezone.now() + timedelta(hours=2)), "values": {"level": 1}}
    with routed_consumer() as forwarded:
        response = APIClient().post(
            telemetry_url(make_token(sensor_a)), data=json.dumps(body), content_type="application/json"
        )
    assert response.status_code == 400
    assert RawMessage.objects.get().status == RawMessageStatus.REFUSED
    assert forwarded == []
    assert StreamData.objects.count() == 0


def test_5_a_replayed_message_is_stored_once_and_its_values_trace_back_to_it(field):
    project, sensor_a, physical_a, tank = field
    mapping_start(user=project.org.created_by, physical=physical_a, logical=tank, start=T0)
    token = make_token(sensor_a)
    with routed_consumer() as forwarded:
        first = send(token, T0 + timedelta(hours=1), level=7, volume=700)
        again = send(token, T0 + timedelta(hours=1), level=7, volume=700)
    assert again["correlation_id"] == first["correlation_id"]
    assert again["duplicate"] is True
    assert len(forwarded) == 1
    raw = RawMessage.objects.get()
    rows = list(StreamData.objects.all())
    assert len(rows) == 2
    for row in rows:
        assert RawMessage.objects.get(data_ids__contains=[row.id]).correlation_id == raw.correlation_id


def test_mapping_rules(field):
    project, _, physical_a, tank = field
    owner = project.org.created_by
    mapping_start(user=owner, physical=physical_a, logical=tank, start=T0)
    other_tank = make_logical(project, name="Tank 4")
    # A physical device mapped already cannot start another mapping.
    with pytest.raises(ApplicationError, match="mapped already"):
        mapping_start(user=owner, physical=physical_a, logical=other_tank, start=T0 + timedelta(hours=1))
    ended = mapping_end(user=owner, physical=physical_a, end=T0 + timedelta(hours=2))
    assert ended.end == T0 + timedelta(hours=2)
    with pytest.raises(NotFoundError):
        mapping_end(user=owner, physical=physical_a)
    with pytest.raises(ApplicationError, match="must be later"):
        mapping_start(user=owner, physical=physical_a, logical=tank, start=T0 + timedelta(hours=1))
    again = mapping_start(user=owner, physical=physical_a, logical=tank, start=T0 + timedelta(hours=3))
    assert list(DeviceMapping.objects.filter(physical_device=physical_a).values_list("id", flat=True)) == [
        again.id,
        ended.id,
    ]
