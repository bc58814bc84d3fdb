"""The OTA app's queue action: keep a device's versions at what its version streams report, and confirm the
deployments its new version shows (enqueued by the streamer's processing for reports with version readings)."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.dateparse import parse_datetime

from server.apps.ota.services import VersionReading, device_versions_update
from server.apps.worker.actions import Action, ActionArgumentError, RetryPolicy, register_action

logger = logging.getLogger(__name__)


def _reading(entry: Any) -> VersionReading:
    try:
        stream, value, reading_id, text = entry
        timestamp = parse_datetime(text)
        if timestamp is None:
            raise ValueError(text)
        return VersionReading(stream=int(stream), value=int(value), reading_id=int(reading_id), timestamp=timestamp)
    except (TypeError, ValueError) as exc:
        raise ActionArgumentError(f"not a version reading [stream, value, reading_id, timestamp]: {entry!r}") from exc


@register_action
class DeviceVersionsUpdate(Action):
    """``readings``: ``[stream, value, reading id, ISO timestamp]`` of the device's 0x5c08/0x5c09 streams. Safe to
    run again: a reading no newer than the stored version changes nothing."""

    required_arguments = ("device_id", "readings")
    timeout = 60
    retry = RetryPolicy(max_attempts=5, backoff=10, max_backoff=600)

    def execute(self, arguments: dict[str, Any]) -> None:
        readings = [_reading(entry) for entry in arguments["readings"]]
        changed = device_versions_update(device_id=int(arguments["device_id"]), readings=readings)
        for attribute in changed:
            logger.info("device %s now reports %s", attribute.device_id, attribute)
