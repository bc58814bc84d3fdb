from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from server.apps.forwarding.models import Destination


def make_destination(org, **fields: Any) -> Destination:
    fields.setdefault("name", f"Destination {Destination.objects.count() + 1}")
    fields.setdefault("kind", "webhook")
    if fields["kind"] == "webhook":
        fields.setdefault("url", "http://127.0.0.1:9/hook")
    return Destination.objects.create(org=org, created_by=org.created_by, **fields)


def routed_message(org, number: int = 1, **fields: Any) -> dict[str, Any]:
    """A message in the normalised shape (telemetry/message.py), as the mapper hands it on."""
    timestamp = datetime(2026, 1, 1, 0, 0, number % 60, tzinfo=UTC).isoformat()
    message = {
        "broker_correlation_id": str(uuid.uuid4()),
        "p_uid": 1,
        "l_uid": 2,
        "timestamp": timestamp,
        "timestamp_received": timestamp,
        "timeseries": [{"name": "temperature", "value": 20 + number}],
        "p_slug": "d--0000-0000-0000-0001",
        "org_id": str(org.id),
        "source": "http",
    }
    message.update(fields)
    return message
