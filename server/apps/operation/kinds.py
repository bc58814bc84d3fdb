"""The kinds of operation: what each one sends, how its payload is checked and how a device's reply ends it.

A kind is a declaration in this registry, not a mechanism of its own: every kind is stored, sent, answered, timed
out and shown the same way. A later feature (software updates, file uploads) registers its kind here (or in its own
app, with :func:`register_kind`) with its payload check and, when its devices answer in their own terms, its
``reply_outcome``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings

from server.apps.core.errors import ApplicationError
from server.apps.operation.models import OperationStatus, Transport


@dataclass(frozen=True)
class Outcome:
    """What a reply does to an open operation: close it (``status``), or only show it is alive (``None``)."""

    status: OperationStatus | None
    result: Any = None
    error: str = ""


# Reply statuses, as the AWS sample's device sends them; any other status fails the operation, as the sample does.
SUCCESS_STATUSES = frozenset({"SUCCESS", "SUCCEEDED", "OK"})
PROGRESS_STATUSES = frozenset({"IN_PROGRESS", "HEARTBEAT", "RUNNING", "ACCEPTED"})


def default_reply_outcome(status: str, value: Any, error: str) -> Outcome:
    status = status.upper()
    if status in SUCCESS_STATUSES:
        return Outcome(OperationStatus.SUCCEEDED, result=value)
    if status in PROGRESS_STATUSES:
        return Outcome(None, result=value)
    return Outcome(OperationStatus.FAILED, result=value, error=error or f"The device answered {status or 'nothing'}.")


@dataclass(frozen=True)
class OperationKind:
    """One kind of operation.

    ``clean(name, payload) -> (name, payload)`` checks what a user asks for and returns the wire name and the
    payload to store (raising :class:`ApplicationError`); ``topic`` is the MQTT topic pair
    ``devices/<slug>/<topic>_req`` and ``…_resp``; ``supersedes``: a new operation of this kind replaces the
    device's open ones (they end SUPERSEDED); ``reply_outcome(status, value, error)`` reads a reply.
    """

    name: str
    label: str
    topic: str
    clean: Callable[[str | None, Any], tuple[str, Any]]
    default_transport: Transport
    deadline: timedelta
    heartbeat_seconds: int | None = None
    supersedes: bool = False
    reply_outcome: Callable[[str, Any, str], Outcome] = default_reply_outcome


registry: dict[str, OperationKind] = {}


def register_kind(kind: OperationKind) -> OperationKind:
    if kind.name in registry and registry[kind.name] != kind:
        raise ValueError(f"operation kind {kind.name!r} is registered twice")
    registry[kind.name] = kind
    return kind


def get_kind(name: str) -> OperationKind:
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise ApplicationError(f"Unknown kind {name!r}.", {"kind": [f"Use one of: {known}."]}) from None


def kind_by_topic(topic: str) -> OperationKind | None:
    return next((kind for kind in registry.values() if kind.topic == topic), None)


def payload_size_check(payload: Any, field: str = "payload") -> None:
    """Refuses a payload larger than ``OPERATION_PAYLOAD_MAX_BYTES`` once encoded as JSON."""
    size = len(json.dumps(payload, separators=(",", ":")).encode())
    limit = settings.OPERATION_PAYLOAD_MAX_BYTES
    if size > limit:
        raise ApplicationError(
            f"The {field} is {size} bytes; at most {limit} are allowed.", {field: [f"At most {limit} bytes."]}
        )


# Commands (the RustiQ monitoring service) --------------------------------------------------------------------------

# A call as the monitoring service reads one: a name and literal arguments, ``get_app_status()``, ``stop_app('x')``.
COMMAND_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\((?:[^()\\]|\\.){0,400}\)$")
SERVICE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_SERVICE = "monitoring-1.0"


def clean_command(name: str | None, payload: Any) -> tuple[str, Any]:
    if isinstance(payload, str):
        payload = {"command": payload}
    if not isinstance(payload, dict) or not isinstance(payload.get("command"), str):
        raise ApplicationError(
            'A command needs {command: "name(args)"}.', {"payload": ["Give the command, e.g. get_app_status()."]}
        )
    command = payload["command"].strip()
    if not COMMAND_PATTERN.match(command):
        raise ApplicationError(
            f"{command[:80]!r} is not a command call.",
            {"payload": ["A call such as get_app_status() or stop_app('x')."]},
        )
    service = payload.get("service") or DEFAULT_SERVICE
    if not isinstance(service, str) or not SERVICE_PATTERN.match(service):
        raise ApplicationError("The service is a name such as monitoring-1.0.", {"payload": ["Bad service name."]})
    return command.split("(", 1)[0], {"command": command, "service": service}


COMMAND = register_kind(
    OperationKind(
        name="command",
        label="Command",
        topic="command",
        clean=clean_command,
        default_transport=Transport.STORE,
        deadline=timedelta(hours=24),
    )
)


# Configuration (the AWS IoT config-on-connect workflow) ------------------------------------------------------------

CONFIG_NAME_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
CONFIG_ON_CONNECT_NAME = "SET_CONFIG"


def clean_config(name: str | None, payload: Any) -> tuple[str, Any]:
    name = name or CONFIG_ON_CONNECT_NAME
    if not CONFIG_NAME_PATTERN.match(name):
        raise ApplicationError(
            f"{name[:80]!r} is not a configuration name.", {"name": ["Upper-case letters, digits and _ (SET_TEMP)."]}
        )
    return name, payload


CONFIG = register_kind(
    OperationKind(
        name="config",
        label="Configuration",
        topic="config",
        clean=clean_config,
        default_transport=Transport.MQTT,
        deadline=timedelta(minutes=5),
        heartbeat_seconds=None,
        supersedes=True,
    )
)
