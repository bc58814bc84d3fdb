"""The operation app's queue actions: send operations, apply configuration on connect, close what is overdue and
read the devices' status files (docs/operations.md)."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from server.apps.operation.models import Transport
from server.apps.operation.services.configuration import configurations_apply
from server.apps.operation.services.credentials import device_mqtt_logins_sync
from server.apps.operation.services.inbound import devices_seen
from server.apps.operation.services.operations import operations_close_overdue, operations_send
from server.apps.operation.services.status_files import status_files_arrived, status_files_read
from server.apps.operation.transports.store import STATUS_STORE
from server.apps.stores.services import register_store_watch
from server.apps.worker.actions import Action, RetryPolicy, register_action
from server.apps.worker.scheduler import register_periodic


@register_action
class SendOperations(Action):
    """Deliver pending operations over MQTT or the stores. The messages of one receive are sent together (one
    query to load them, one to mark them sent, one publish round to the broker); a broker or store outage puts them
    back to PENDING and is retried."""

    required_arguments = ("operation_ids",)
    timeout = 120
    retry = RetryPolicy(max_attempts=6, backoff=5, factor=2, max_backoff=300)
    batched = True

    def execute_batch(self, arguments: list[dict[str, Any]]) -> Generator[tuple[int, Exception | None], None, None]:
        ids = [operation_id for each in arguments for operation_id in each["operation_ids"]]
        try:
            operations_send(operation_ids=ids)
        except Exception as exc:
            for position in range(len(arguments)):
                yield position, exc
            return
        for position in range(len(arguments)):
            yield position, None


@register_action
class ApplyConfiguration(Action):
    """Configuration on connect: resolve each device's configuration (and its profile, when a profile service is
    configured), then send it (``services/configuration.py``)."""

    required_arguments = ("operation_ids",)
    optional_arguments = ("profile_attempt",)
    timeout = 300
    retry = RetryPolicy(max_attempts=6, backoff=5, factor=2, max_backoff=300)

    def execute(self, arguments: dict[str, Any]) -> None:
        configurations_apply(
            operation_ids=arguments["operation_ids"], profile_attempt=int(arguments.get("profile_attempt") or 1)
        )


@register_action
class CloseOverdueOperations(Action):
    """TIMED_OUT for every open operation past its deadline or its heartbeat: no row stays open."""

    timeout = 120
    retry = RetryPolicy(max_attempts=2, backoff=30)

    def execute(self, arguments: dict[str, Any]) -> None:
        operations_close_overdue()


@register_action
class ReadStatusFiles(Action):
    """Read the devices' new status files in the ``status`` store and record the command results they hold."""

    timeout = 300
    retry = RetryPolicy(max_attempts=2, backoff=30)

    def execute(self, arguments: dict[str, Any]) -> None:
        status_files_read()


@register_action
class DevicesSeen(Action):
    """Devices heard from by another app (the streamer's processed reports): presence, and configuration on connect
    for a device heard from after a gap (``services/inbound.py``). ``devices`` is ``[[device id, ISO time], …]``."""

    required_arguments = ("devices", "transport")
    timeout = 120
    retry = RetryPolicy(max_attempts=5, backoff=5, factor=2, max_backoff=300)

    def execute(self, arguments: dict[str, Any]) -> None:
        seen = [(int(device_id), datetime.fromisoformat(at)) for device_id, at in arguments["devices"]]
        devices_seen(seen=seen, transport=Transport(arguments["transport"]))


@register_action
class SyncMqttLogins(Action):
    """Push the devices' MQTT logins to the broker as their ``MQTT`` keys are now (set, rotated or revoked by staff):
    ``services/credentials.py``. A broker outage is retried."""

    required_arguments = ("device_ids",)
    timeout = 120
    retry = RetryPolicy(max_attempts=8, backoff=5, factor=2, max_backoff=600)

    def execute(self, arguments: dict[str, Any]) -> None:
        device_mqtt_logins_sync(device_ids=[int(device_id) for device_id in arguments["device_ids"]])


# With the status bucket's S3 event notifications sent to the worker's queue, a new status file is read at once.
register_store_watch(STATUS_STORE, status_files_arrived)
register_periodic(ReadStatusFiles, every=timedelta(seconds=settings.OPERATION_SWEEP_SECONDS))
register_periodic(CloseOverdueOperations, every=timedelta(seconds=settings.OPERATION_SWEEP_SECONDS))
