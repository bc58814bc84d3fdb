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
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from server.apps.core.errors import ApplicationError
from server.apps.operation.models import DeviceOperation, OperationStatus, Transport


@dataclass(frozen=True)
class Outcome:
    """What a reply does to an open operation: close it (``status``), or only show it is alive (``None``)."""

    status: OperationStatus | None
    result: Any = None
    error: str = ""


# Reply statuses, as the AWS sample's device sends them; any other status fails the operation, as the sample does.
SUCCESS_STATUSES = frozenset({"SUCCESS", "SUCCEEDED", "OK"})
PROGRESS_STATUSES = frozenset({"IN_PROGRESS", "HEARTBEAT", "RUNNING", "ACCEPTED"})


def status_outcome(
    *,
    succeeded: frozenset[str],
    running: frozenset[str] = frozenset(),
    closing: dict[str, OperationStatus] | None = None,
    upper: bool = True,
    verb: str = "answered",
) -> Callable[[str, Any, str], Outcome]:
    """A ``reply_outcome`` read from the reply's status: one of ``succeeded`` succeeds, one of ``running`` keeps the
    operation open (the reply becomes its result), one of ``closing`` ends it with that status and the device's
    error, any other fails it with the device's error or "The device <verb> <status>". ``upper``: the status is
    read in upper case."""
    closing = closing or {}

    def outcome(status: str, value: Any, error: str) -> Outcome:
        status = status.upper() if upper else status
        if status in succeeded:
            return Outcome(OperationStatus.SUCCEEDED, result=value)
        if status in running:
            return Outcome(None, result=value)
        if status in closing:
            return Outcome(closing[status], result=value, error=error)
        return Outcome(OperationStatus.FAILED, result=value, error=error or f"The device {verb} {status or 'nothing'}.")

    return outcome


default_reply_outcome = status_outcome(succeeded=SUCCESS_STATUSES, running=PROGRESS_STATUSES)


@dataclass(frozen=True)
class OperationKind:
    """One kind of operation.

    ``clean(name, payload) -> (name, payload)`` checks what a user asks for and returns the wire name and the
    payload to store (raising :class:`ApplicationError`); ``topic`` is the MQTT topic pair
    ``devices/<slug>/<topic>_req`` and ``…_resp``, unless ``request_suffix`` names the request's topic after
    ``devices/<slug>/`` (a kind whose devices speak their own protocol, such as Kanto's ``update/desiredstate``);
    ``encode(operation, now)`` is then the request message on MQTT instead of the generic one; ``supersedes``: a new
    operation of this kind replaces the device's open ones (they end SUPERSEDED); ``reply_outcome(status, value,
    error)`` reads a reply; ``permission``: the organisation permission queueing this kind needs besides
    ``can_operate_devices`` (a desired state installs software: ``can_manage_ota``); ``payload_required``: a request
    must carry a payload, else an absent one is ``{}`` (a kind that takes none, or whose payload is optional).
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
    request_suffix: str = ""
    encode: Callable[[DeviceOperation, datetime], dict[str, Any]] | None = None
    permission: str | None = None
    cancel_kind: str = ""
    cancel_payload: Callable[[DeviceOperation], dict[str, Any]] | None = None
    payload_required: bool = True

    @property
    def mqtt_request_suffix(self) -> str:
        return self.request_suffix or f"{self.topic}_req"


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


# Desired state (the Kanto update manager) ----------------------------------------------------------------------------
#
# The document is ``{domains: [{id, config: [{key, value}], components: [{id, version, config: [{key, value}]}]}],
# baselines: [{title, description, preconditions, components: ["domain:id"]}]}``. It goes out on Kanto's own topic in
# Kanto's envelope ``{activityId, timestamp, payload}``; the operation's id is the activityId. The device's feedback
# names that activityId and Kanto's overall status, read by ``desired_state_outcome``.

DESIRED_STATE_NAME = "desiredstate"
DESIRED_STATE_SUFFIX = "update/desiredstate"
DESIRED_STATE_FEEDBACK_SUFFIX = "update/desiredstatefeedback"
CURRENT_STATE_SUFFIX = "update/currentstate"
KANTO_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$")

# The overall statuses of Kanto's desired-state feedback: still running, done, failed, replaced.
KANTO_RUNNING = frozenset(
    {
        "IDENTIFYING",
        "IDENTIFIED",
        "RUNNING",
        "DOWNLOAD_COMPLETED",
        "DOWNLOADED_COMPLETED",
        "UPDATE_COMPLETED",
        "ACTIVATION_COMPLETED",
        "ROLLBACK",
        "CLEANUP",
        "BASELINE_ROLLBACK",
        "BASELINE_CLEANUP",
    }
)
# Kanto's SoftwareUpdatable speaks of an install's progress in its own words; a device may report those too.
SOFTWARE_UPDATE_RUNNING = frozenset(
    {
        "STARTED",
        "DOWNLOADING",
        "DOWNLOADING_WAITING",
        "DOWNLOADED",
        "INSTALLING",
        "INSTALLING_WAITING",
        "INSTALLED",
        "REMOVING",
        "REMOVING_WAITING",
        "REMOVED",
        "CANCELING_WAITING",
        "CANCEL_REJECTED",
    }
)
KANTO_RUNNING = KANTO_RUNNING | SOFTWARE_UPDATE_RUNNING
KANTO_COMPLETED = frozenset({"COMPLETED", "FINISHED_SUCCESS", "FINISHED_WARNING"})
KANTO_FAILED = frozenset(
    {
        "IDENTIFICATION_FAILED",
        "DOWNLOAD_FAILED",
        "DOWNLOADED_FAILED",
        "UPDATE_FAILED",
        "ACTIVATION_FAILED",
        "INCOMPLETE",
        "INCOMPLETE_INCONSISTENT",
        "ROLLBACK_FAILED",
        "CLEANUP_FAILED",
        "FINISHED_ERROR",
        "FINISHED_REJECTED",
        "FINISHED_CANCELED",
    }
)
KANTO_SUPERSEDED = "SUPERSEDED"
KANTO_STATUSES = KANTO_RUNNING | KANTO_COMPLETED | KANTO_FAILED | {KANTO_SUPERSEDED}
# Each action's status in the feedback (Kanto's code spells DOWNLOAD_*, its docs DOWNLOADED_*; both are read).
KANTO_ACTION_STATUSES = (
    frozenset(
        {
            "IDENTIFIED",
            "DOWNLOADING",
            "DOWNLOAD_SUCCESS",
            "DOWNLOAD_FAILURE",
            "DOWNLOADED_SUCCESS",
            "DOWNLOADED_FAILURE",
            "UPDATING",
            "UPDATE_SUCCESS",
            "UPDATE_FAILURE",
            "ACTIVATING",
            "ACTIVATION_SUCCESS",
            "ACTIVATION_FAILURE",
            "REMOVING",
            "REMOVAL_SUCCESS",
            "REMOVAL_FAILURE",
        }
    )
    | SOFTWARE_UPDATE_RUNNING
    | {"FINISHED_SUCCESS", "FINISHED_WARNING", "FINISHED_ERROR", "FINISHED_REJECTED", "FINISHED_CANCELED"}
)


def _desired_state_error(message: str) -> ApplicationError:
    return ApplicationError(message, {"payload": [message]})


def _key_values(value: Any, where: str) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _desired_state_error(f"{where}.config is a list of {{key, value}}.")
    pairs = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
            raise _desired_state_error(f"{where}.config holds {{key, value}} objects with a text key.")
        if not isinstance(item.get("value", ""), str):
            raise _desired_state_error(f"{where}.config[{item['key']!r}]: the value is text.")
        pairs.append({"key": item["key"], "value": item.get("value", "")})
    return pairs


def _kanto_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not KANTO_ID_PATTERN.match(value):
        raise _desired_state_error(f"{where} needs an id: letters, digits and _ . : @ / - (at most 128).")
    return value


def clean_desired_state(name: str | None, payload: Any) -> tuple[str, Any]:
    """A desired-state document, checked and rewritten with only the fields Kanto reads."""
    if not isinstance(payload, dict) or not isinstance(payload.get("domains"), list) or not payload["domains"]:
        raise _desired_state_error("A desired state is {domains: [{id, config, components}], baselines?}.")
    domains = []
    domain_ids: set[str] = set()
    names: set[str] = set()  # "domain:component", what baselines name
    for index, domain in enumerate(payload["domains"]):
        where = f"domains[{index}]"
        if not isinstance(domain, dict):
            raise _desired_state_error(f"{where} is an object.")
        domain_id = _kanto_id(domain.get("id"), where)
        if domain_id in domain_ids:
            raise _desired_state_error(f"The domain {domain_id!r} is named twice.")
        components = domain.get("components", [])
        if not isinstance(components, list):
            raise _desired_state_error(f"{where}.components is a list.")
        cleaned = []
        for position, component in enumerate(components):
            spot = f"{where}.components[{position}]"
            if not isinstance(component, dict):
                raise _desired_state_error(f"{spot} is an object.")
            component_id = _kanto_id(component.get("id"), spot)
            version = component.get("version", "")
            if not isinstance(version, str) or len(version) > 128:
                raise _desired_state_error(f"{spot}.version is text (at most 128).")
            if f"{domain_id}:{component_id}" in names:
                raise _desired_state_error(f"The component {domain_id}:{component_id} is named twice.")
            names.add(f"{domain_id}:{component_id}")
            cleaned.append(
                {"id": component_id, "version": version, "config": _key_values(component.get("config"), spot)}
            )
        domain_ids.add(domain_id)
        domains.append({"id": domain_id, "config": _key_values(domain.get("config"), where), "components": cleaned})
    document: dict[str, Any] = {"domains": domains}
    baselines = payload.get("baselines")
    if baselines:
        document["baselines"] = _baselines(baselines, names)
    return DESIRED_STATE_NAME, document


def _baselines(baselines: Any, names: set[str]) -> list[dict[str, Any]]:
    if not isinstance(baselines, list):
        raise _desired_state_error("baselines is a list of {title, components}.")
    cleaned = []
    for index, baseline in enumerate(baselines):
        where = f"baselines[{index}]"
        if not isinstance(baseline, dict) or not isinstance(baseline.get("title"), str) or not baseline["title"]:
            raise _desired_state_error(f"{where} needs a title.")
        components = baseline.get("components")
        if not isinstance(components, list) or not all(isinstance(item, str) for item in components):
            raise _desired_state_error(f'{where}.components lists "domain:component" names.')
        unknown = [item for item in components if item not in names]
        if unknown:
            raise _desired_state_error(f"{where} names components the domains do not hold: {', '.join(unknown[:5])}.")
        entry: dict[str, Any] = {"title": baseline["title"], "components": components}
        for field in ("description", "preconditions"):
            if isinstance(baseline.get(field), str) and baseline[field]:
                entry[field] = baseline[field]
        cleaned.append(entry)
    return cleaned


# A Kanto feedback's overall status: COMPLETED succeeds, the running ones keep it open (the feedback becomes its
# result), SUPERSEDED closes it as replaced, the failed ones fail it with the device's message.
desired_state_outcome = status_outcome(
    succeeded=KANTO_COMPLETED,
    running=KANTO_RUNNING,
    closing={KANTO_SUPERSEDED: OperationStatus.SUPERSEDED},
    verb="reported",
)


def desired_state_message(operation: DeviceOperation, now: datetime) -> dict[str, Any]:
    """Kanto's envelope: ``{activityId, timestamp, payload}``."""
    return {"activityId": str(operation.id), "timestamp": int(now.timestamp() * 1000), "payload": operation.payload}


DESIRED_STATE = register_kind(
    OperationKind(
        name=DESIRED_STATE_NAME,
        label="Desired state",
        topic=DESIRED_STATE_NAME,
        clean=clean_desired_state,
        default_transport=Transport.MQTT,
        deadline=timedelta(hours=24),
        supersedes=True,
        reply_outcome=desired_state_outcome,
        request_suffix=DESIRED_STATE_SUFFIX,
        encode=desired_state_message,
        permission="can_manage_ota",
    )
)


# File upload (Kanto's AutoUploadable) ------------------------------------------------------------------------------
#
# ``upload`` is the trigger: ``devices/<slug>/upload/trigger`` ``{correlationId, options}``. The device then asks to
# upload each file (``…/upload/request``, correlationId ``<trigger>#<n>``); each file is an ``uploadfile``
# operation whose request is the ``start`` (``…/upload/start``: ``{correlationId, options: {storage.provider,
# https.url, https.method, info.*}}``), answered by the device's status reports (``…/upload/status``).

UPLOAD_NAME = "upload"
UPLOAD_FILE_NAME = "uploadfile"
UPLOAD_REQUEST_SUFFIX = "upload/request"
UPLOAD_STATUS_SUFFIX = "upload/status"
UPLOAD_CANCEL_NAME = "uploadcancel"
# Kanto's upload states: still going, done, failed, canceled.
UPLOAD_RUNNING = frozenset({"PENDING", "UPLOADING", "PAUSED"})
UPLOAD_STATES = UPLOAD_RUNNING | {"SUCCESS", "FAILED", "CANCELED"}


WINDOW_FIELDS = ("from", "to")


def _window_edge(value: Any, field: str) -> int:
    """A window's edge as Kanto's epoch milliseconds, given as such or as an ISO 8601 time with its zone."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**14:
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return int(moment.timestamp() * 1000)
    raise ApplicationError(
        f"The upload window's {field} is epoch milliseconds or an ISO 8601 time with its zone.",
        {"payload": [f"{field}: epoch milliseconds or an ISO 8601 time with its zone."]},
    )


def clean_upload(name: str | None, payload: Any) -> tuple[str, Any]:
    """The trigger's options, text values only (Kanto echoes the ones starting ``info.``), and its optional upload
    window ``from``/``to``: the period the device uploads files of, in epoch milliseconds, ``from`` <= ``to``."""
    options = payload.get("options", {}) if isinstance(payload, dict) else None
    if not isinstance(options, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in options.items()
    ):
        raise ApplicationError("An upload request is {options: {name: text}}.", {"payload": ["Text options only."]})
    cleaned: dict[str, Any] = {"options": options}
    for field in WINDOW_FIELDS:
        if payload.get(field) is not None:
            cleaned[field] = _window_edge(payload[field], field)
    if "from" in cleaned and "to" in cleaned and cleaned["from"] > cleaned["to"]:
        raise ApplicationError("The upload window starts after it ends.", {"payload": ["from must not be after to."]})
    return UPLOAD_NAME, cleaned


def upload_trigger_message(operation: DeviceOperation, now: datetime) -> dict[str, Any]:
    """Kanto's ``trigger``, with the upload window when it has one."""
    window = {field: operation.payload[field] for field in WINDOW_FIELDS if field in operation.payload}
    return {"correlationId": str(operation.id), "options": operation.payload.get("options", {}), **window}


def upload_cancel_payload(operation: DeviceOperation) -> dict[str, Any]:
    """Kanto's ``cancel`` for a canceled trigger (its id) or file upload (its ``<trigger>#<n>``)."""
    correlation = operation.payload.get("correlationId") or str(operation.id)
    return {"correlationId": correlation, "statusCode": "0", "message": "Canceled by the platform."}


def _upload_kind(name: str, label: str, step: str, **declaration: Any) -> OperationKind:
    """A step of Kanto's AutoUploadable: sent over MQTT on ``devices/<slug>/upload/<step>``, an hour to end."""
    return register_kind(
        OperationKind(
            name=name,
            label=label,
            topic=name,
            default_transport=Transport.MQTT,
            deadline=timedelta(hours=1),
            request_suffix=f"upload/{step}",
            **declaration,
        )
    )


# The trigger ends when the device asks for its first file (``REQUESTED``).
UPLOAD = _upload_kind(
    UPLOAD_NAME,
    "File upload request",
    "trigger",
    clean=clean_upload,
    payload_required=False,
    encode=upload_trigger_message,
    reply_outcome=status_outcome(succeeded=frozenset({"REQUESTED"}), upper=False),
    cancel_kind=UPLOAD_CANCEL_NAME,
    cancel_payload=upload_cancel_payload,
)


def clean_upload_file(name: str | None, payload: Any) -> tuple[str, Any]:
    # Made by the platform when a device asks to upload a file, never by a user.
    raise ApplicationError("File uploads start when the device asks.", {"kind": ["Use kind upload."]})


def upload_start_message(operation: DeviceOperation, now: datetime) -> dict[str, Any]:
    return {"correlationId": operation.payload["correlationId"], "options": operation.payload["options"]}


# A status report's state: SUCCESS (its checksum verified), the running ones, FAILED, CANCELED.
UPLOAD_FILE = _upload_kind(
    UPLOAD_FILE_NAME,
    "File upload",
    "start",
    clean=clean_upload_file,
    encode=upload_start_message,
    reply_outcome=status_outcome(
        succeeded=frozenset({"SUCCESS"}),
        running=UPLOAD_RUNNING,
        closing={"CANCELED": OperationStatus.CANCELED},
        upper=False,
        verb="reported",
    ),
    cancel_kind=UPLOAD_CANCEL_NAME,
    cancel_payload=upload_cancel_payload,
)


def clean_platform_made(name: str | None, payload: Any) -> tuple[str, Any]:
    # Made by the platform when a user cancels an upload, never asked for.
    raise ApplicationError("The platform sends these itself.", {"kind": ["Cancel the upload operation instead."]})


def upload_cancel_message(operation: DeviceOperation, now: datetime) -> dict[str, Any]:
    return dict(operation.payload)


def upload_cancel_outcome(status: str, value: Any, error: str) -> Outcome:
    """The device confirms a cancel with its CANCELED status report on the upload (or a plain SUCCESS reply)."""
    if status in ("CANCELED", *SUCCESS_STATUSES):
        return Outcome(OperationStatus.SUCCEEDED, result=value)
    return default_reply_outcome(status, value, error)


UPLOAD_CANCEL = _upload_kind(
    UPLOAD_CANCEL_NAME,
    "File upload cancel",
    "cancel",
    clean=clean_platform_made,
    encode=upload_cancel_message,
    reply_outcome=upload_cancel_outcome,
)


# Inventory refresh (the Kanto update manager's current state, asked for) --------------------------------------------
#
# ``devices/<slug>/update/currentstate/get`` ``{activityId, timestamp, payload: {}}``: the device sends its current
# state again on ``…/update/currentstate``, which answers the open refresh of that device.

CURRENT_STATE_NAME = "currentstate"
CURRENT_STATE_GET_SUFFIX = "update/currentstate/get"


def clean_current_state(name: str | None, payload: Any) -> tuple[str, Any]:
    if payload != {}:
        raise ApplicationError("An inventory refresh carries nothing.", {"payload": ["Leave it empty."]})
    return CURRENT_STATE_NAME, {}


def current_state_get_message(operation: DeviceOperation, now: datetime) -> dict[str, Any]:
    return {"activityId": str(operation.id), "timestamp": int(now.timestamp() * 1000), "payload": {}}


CURRENT_STATE = register_kind(
    OperationKind(
        name=CURRENT_STATE_NAME,
        label="Inventory refresh",
        topic=CURRENT_STATE_NAME,
        clean=clean_current_state,
        payload_required=False,
        default_transport=Transport.MQTT,
        deadline=timedelta(minutes=10),
        supersedes=True,
        request_suffix=CURRENT_STATE_GET_SUFFIX,
        encode=current_state_get_message,
    )
)
