"""Commands and configuration through the file stores (the RustiQ monitoring service).

The platform writes ``<device>/<service>/commands.json`` in the ``incoming`` store: the list of the device's open
commands for that service, ``[{"command": "get_app_status()", "operationId": "…"}, …]``, and keeps every version
beside it as ``<device>/<service>/versions/<UTC time>.json``. Configuration goes the same way as the service
``config``: ``<device>/config/commands.json`` holds ``[{"command": "SET_CONFIG", "operationId": "…", "value":
{…}}]``. The device answers in the ``status`` store (``services/status_files.py`` reads it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from server.apps.operation.models import OPEN_STATUSES, DeviceOperation, Transport
from server.apps.stores.services import store_file_save

INCOMING_STORE = "incoming"
STATUS_STORE = "status"
COMMANDS_FILE = "commands.json"
STATUS_FILE = "last_monitoring_status.json"
# The kinds the stores carry; configuration is written as the commands of its own service.
STORE_KINDS = ("command", "config")
CONFIG_SERVICE = "config"


def commands_key(device_slug: str, service: str) -> str:
    return f"{device_slug}/{service}/{COMMANDS_FILE}"


def status_key(device_slug: str, service: str) -> str:
    return f"{device_slug}/{service}/{STATUS_FILE}"


class StoreDelivery:
    def deliver(self, operations: Sequence[DeviceOperation]) -> dict[UUID, str] | None:
        """Rewrite the commands file of every (device, service) the batch names, with all its open commands (those
        of the batch, and earlier ones not answered yet), and keep this version. A store outage raises, and the
        worker retries."""
        failed: dict[UUID, str] = {}
        files = {(op.device_id, op.device.slug, command_service(op)) for op in operations if op.kind in STORE_KINDS}
        for op in operations:
            if op.kind not in STORE_KINDS:
                failed[op.id] = f"the file stores carry commands and configuration, not {op.kind}"
        batch_ids = {op.id for op in operations}
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        for device_id, device_slug, service in sorted(files):
            open_commands = DeviceOperation.objects.filter(
                device_id=device_id, transport=Transport.STORE, kind__in=STORE_KINDS, status__in=OPEN_STATUSES
            ).order_by("created_on", "id")
            entries = [
                _entry(op)
                for op in open_commands
                if command_service(op) == service and (op.id in batch_ids or op.status != "PENDING")
            ]
            content = json.dumps(entries, indent=2).encode()
            key = commands_key(device_slug, service)
            store_file_save(store=INCOMING_STORE, key=f"{device_slug}/{service}/versions/{stamp}.json", content=content)
            store_file_save(store=INCOMING_STORE, key=key, content=content)
        return failed


def _entry(operation: DeviceOperation) -> dict[str, object]:
    if operation.kind == "config":
        return {"command": operation.name, "operationId": str(operation.id), "value": operation.payload}
    return {"command": operation.payload["command"], "operationId": str(operation.id)}


def command_service(operation: DeviceOperation) -> str:
    if operation.kind == "config":
        return CONFIG_SERVICE
    return str(operation.payload.get("service") or "monitoring-1.0")
