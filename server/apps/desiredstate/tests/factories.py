"""Desired states made through the real services, and Kanto messages as the bridge hands them over."""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone

from server.apps.desiredstate.services import desired_state_create
from server.apps.fleet.tests.factories import ota_manager
from server.apps.operation.services.inbound import MqttMessage
from server.apps.operation.topics import DeviceTopicMessage

TWO_CONTAINERS = {
    "domains": [
        {
            "id": "containers",
            "config": [{"key": "source", "value": "registry"}],
            "components": [
                {"id": "influxdb", "version": "2.7.1", "config": [{"key": "image", "value": "influxdb:2.7.1"}]},
                {"id": "grafana", "version": "10.2.0", "config": [{"key": "image", "value": "grafana:10.2.0"}]},
            ],
        }
    ],
    "baselines": [{"title": "monitoring", "components": ["containers:influxdb", "containers:grafana"]}],
}


def make_desired_state(*, device=None, fleet=None, document=None, transport: str | None = "mqtt", user=None):
    org = (device or fleet).org
    return desired_state_create(
        user=user or ota_manager(org),
        device=device,
        fleet=fleet,
        document=TWO_CONTAINERS if document is None else document,
        transport=transport,
    )


def topic_message(device, suffix: str, body: Any) -> DeviceTopicMessage:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    message = MqttMessage(f"devices/{device.slug}/{suffix}", payload, timezone.now())
    return DeviceTopicMessage(device.pk, device.org_id, suffix, message)


def feedback(activity: Any, status: str, actions: list[tuple[str, str, int]] = (), message: str = "") -> dict:
    return {
        "activityId": str(activity),
        "timestamp": 1700000000000,
        "payload": {
            "status": status,
            "message": message,
            "actions": [
                {"component": {"id": component, "version": "1"}, "status": state, "progress": progress, "message": ""}
                for component, state, progress in actions
            ],
        },
    }
