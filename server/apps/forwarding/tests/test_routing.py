"""Forwarding fed by telemetry: a device's HTTP telemetry, routed through its mapping, lands in the outbox and
reaches a real webhook with the raw message's correlation id; unmapped and paused devices' messages are not
forwarded, and resuming the mapping forwards again; a message delivered twice is forwarded once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from server.apps.device.tests.factories import make_project
from server.apps.forwarding.models import Delivery
from server.apps.forwarding.tests.factories import make_destination
from server.apps.telemetry.models import PhysicalDevice, RawMessage
from server.apps.telemetry.services.mapping import mapping_start, mapping_toggle
from server.apps.telemetry.tests.factories import make_logical, make_token_device, telemetry_url
from server.apps.worker.runner import run_worker

pytestmark = pytest.mark.django_db(databases=["default", "streamdata"])

TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def post(token: str, number: int, **headers):
    body = {"ts": TS + number * 1000, "values": {"level": number}}
    response = APIClient().post(telemetry_url(token), json.dumps(body), content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def test_routed_telemetry_reaches_the_webhook_and_unrouted_does_not(webhook_receiver):
    project = make_project()
    device, token = make_token_device(project)
    destination = make_destination(project.org, url=webhook_receiver.url)
    webhook_receiver.up()

    unmapped = post(token, 0)
    assert unmapped["status"] == "unmapped"
    assert not Delivery.objects.exists()

    physical = PhysicalDevice.objects.get(device=device)  # made by its first message
    logical = make_logical(project)
    owner = project.org.created_by
    mapping_start(user=owner, physical=physical, logical=logical, start=datetime(2025, 12, 31, tzinfo=UTC))
    routed = [post(token, number) for number in (1, 2)]
    assert [answer["status"] for answer in routed] == ["routed", "routed"]
    mapping = mapping_toggle(user=owner, physical=physical, is_active=False)
    assert post(token, 3)["status"] == "paused"
    mapping_toggle(user=owner, physical=physical, is_active=True)
    resumed = post(token, 4)
    # The same message again (same body: the same source message id) is stored once and forwarded once.
    assert post(token, 4)["correlation_id"] == resumed["correlation_id"]

    sent = [answer["correlation_id"] for answer in [*routed, resumed]]
    assert [str(cid) for cid in destination.deliveries.order_by("id").values_list("correlation_id", flat=True)] == sent
    run_worker(burst=True)
    assert webhook_receiver.correlation_ids() == sent
    first = webhook_receiver.received[0].json()
    raw = RawMessage.objects.get(correlation_id=sent[0])
    assert (first["p_uid"], first["l_uid"], first["timeseries"]) == (
        device.pk,
        logical.pk,
        [{"name": "level", "value": 1}],
    )
    assert first["broker_correlation_id"] == str(raw.correlation_id)
    assert mapping.is_active is False
