"""Presence: whether each device is connected and when it was last heard from, written in bulk.

MQTT gives connections: a birth message (online) and the last will the broker publishes when the connection drops
(offline). Every other message, an HTTP poll or reply, a status file or a streamer report shows the device is
there. :func:`presence_record` answers which devices *came online* with the events: a birth, or a first message
after ``CONFIG_ON_CONNECT_GAP_SECONDS`` of silence; those get their configuration (``configuration.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from server.apps.health.services import device_health_heard
from server.apps.operation.models import DevicePresence, Transport

CONNECTED = "connected"
DISCONNECTED = "disconnected"
SEEN = "seen"


@dataclass(frozen=True)
class PresenceEvent:
    device_id: int
    event: str  # CONNECTED, DISCONNECTED or SEEN
    at: datetime
    transport: Transport


_UPSERT = """
INSERT INTO operation_devicepresence (device_id, online, last_seen, connected_on, transport)
SELECT * FROM unnest(%s::bigint[], %s::boolean[], %s::timestamptz[], %s::timestamptz[], %s::varchar[])
ON CONFLICT (device_id) DO UPDATE SET
    online = excluded.online,
    last_seen = greatest(operation_devicepresence.last_seen, excluded.last_seen),
    connected_on = coalesce(excluded.connected_on, operation_devicepresence.connected_on),
    transport = excluded.transport
"""


@transaction.atomic
def presence_record(*, events: Sequence[PresenceEvent]) -> list[PresenceEvent]:
    """Apply the events in order (the last one of a device wins) with one read and one upsert, then turn the devices
    heard from OK (``health.services.device_health_heard``, one statement); returns the events with which a device
    came online, at most one per device."""
    if not events:
        return []
    gap = timedelta(seconds=settings.CONFIG_ON_CONNECT_GAP_SECONDS)
    device_ids = sorted({event.device_id for event in events})
    state = {
        row.device_id: (row.online, row.last_seen, row.connected_on, row.transport)
        for row in DevicePresence.objects.select_for_update().filter(device_id__in=device_ids)
    }
    came_online: dict[int, PresenceEvent] = {}
    for event in events:
        online, last_seen, connected_on, transport = state.get(event.device_id, (False, None, None, ""))
        if event.event == CONNECTED:
            came_online[event.device_id] = event
            online, connected_on, transport = True, event.at, event.transport
        elif event.event == DISCONNECTED:
            online = False
            came_online.pop(event.device_id, None)
        else:
            connected = online and transport == Transport.MQTT
            quiet = last_seen is None or event.at - last_seen > gap
            if quiet and not connected:
                came_online[event.device_id] = event
                connected_on = event.at
            if not connected:
                # While an MQTT connection is up the device is reached over it; otherwise over what it used last.
                transport = event.transport
            online = True
        last_seen = event.at if last_seen is None or event.at > last_seen else last_seen
        state[event.device_id] = (online, last_seen, connected_on, transport)
    columns: tuple[list, ...] = ([], [], [], [], [])
    for device_id in device_ids:
        online, last_seen, connected_on, transport = state[device_id]
        for column, value in zip(columns, (device_id, online, last_seen, connected_on, transport), strict=True):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, list(columns))
    # Heard from: a device watched by the health check and not OK turns OK now, not at the next check.
    heard = {device_id: state[device_id][1] for device_id in device_ids}
    device_health_heard(heard={device_id: at for device_id, at in heard.items() if at is not None})
    return list(came_online.values())
