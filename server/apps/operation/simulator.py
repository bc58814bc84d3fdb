"""Simulated devices for the tests, the docs and the benchmark (``manage.py simulate_device``).

Each plays a device over one transport and answers the platform's requests the way its ``mode`` says:

| mode | what it does with a request |
|---|---|
| ``answer`` | replies SUCCESS with the request's value |
| ``fail`` | replies FAIL with an error |
| ``silent`` | never replies |
| ``malformed`` | replies with something that is not JSON |
| ``duplicate`` | replies SUCCESS twice |
| ``unknown`` | replies SUCCESS naming an operation that does not exist |
| ``slow`` | reports progress before succeeding (a Kanto device: each action's progress in steps of 25) |
| ``supersede`` | a Kanto device that holds a desired state RUNNING until the next one, then reports the first one |
|  | SUPERSEDED and completes the next one (other kinds: as ``answer``) |

A desired state (``devices/<slug>/update/desiredstate``) is answered as Kanto's update manager does
(:func:`kanto_messages`): feedback on ``…/update/desiredstatefeedback`` (IDENTIFIED, RUNNING with each component's
action, then COMPLETED with UPDATE_SUCCESS, or INCOMPLETE with UPDATE_FAILURE for ``fail``) and, once it is done, its
inventory on ``…/update/currentstate``.

An upload trigger (``…/upload/trigger``) is answered as Kanto's AutoUploadable does (:func:`upload_messages`): a
request per file of the device (``files``, ``…/upload/request``, ``<trigger>#<n>`` with the file's name and SHA-256),
then on each ``start`` a PUT of the file to its ``https.url`` and the status reports UPLOADING and SUCCESS (``fail``:
it claims another checksum; ``slow``: UPLOADING at 25 % and the file held; ``silent``: nothing). A ``cancel``
(``…/upload/cancel``) is answered with the upload's status CANCELED.

A refresh of a Kanto device's inventory (``…/update/currentstate/get``) is answered with its current state on
``…/update/currentstate`` (what its last desired state installed), naming the refresh's activityId.

- :class:`MqttFleet` plays any number of devices over MQTT in one thread: each logs in as its slug with its own
  password, sets its last will (``{"status": "offline"}`` on ``devices/<slug>/presence``), subscribes to its request
  topics, publishes its birth (``{"status": "online"}``) and answers after ``reply_delay`` seconds.
- :class:`HttpDevice` polls ``operation/poll/`` with its device token and posts to ``operation/reply/``.
- :class:`StoreDevice` reads its ``commands.json`` from the ``incoming`` store and writes its
  ``last_monitoring_status.json`` to the ``status`` store.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import select
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from server.apps.operation.kinds import CURRENT_STATE_GET_SUFFIX, DESIRED_STATE_SUFFIX, registry
from server.apps.operation.services.inbound import PRESENCE_TOPIC
from server.apps.operation.transports.mqtt import BrokerAddress, new_client, reply_topic
from server.apps.operation.transports.store import INCOMING_STORE, STATUS_STORE, commands_key, status_key
from server.apps.stores.selectors import store_file_exists, store_file_read
from server.apps.stores.services import store_file_save

MODES = ("answer", "fail", "silent", "malformed", "duplicate", "unknown", "slow", "supersede")
MALFORMED = b"{this is not json"


def reply_for(request: dict[str, Any], mode: str) -> list[bytes]:
    """The messages a device in ``mode`` sends back for ``request`` (none for ``silent``)."""
    if mode == "silent":
        return []
    if mode == "malformed":
        return [MALFORMED]
    operation_id = str(uuid.uuid4()) if mode == "unknown" else request.get("operationId")
    body = {
        "operationId": operation_id,
        "name": request.get("name", ""),
        "type": "RESP",
        "status": "FAIL" if mode == "fail" else "SUCCESS",
        "value": request.get("value"),
        "error": "simulated failure" if mode == "fail" else "",
        "timestamp": int(time.time() * 1000),
    }
    encoded = json.dumps(body).encode()
    return [encoded, encoded] if mode == "duplicate" else [encoded]


# Kanto's update manager --------------------------------------------------------------------------------------------


def _kanto(activity: str, payload: dict[str, Any]) -> bytes:
    return json.dumps({"activityId": activity, "timestamp": int(time.time() * 1000), "payload": payload}).encode()


def _components(document: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"id": f"{domain['id']}:{component['id']}", "version": component.get("version", "")}
        for domain in document.get("domains") or []
        for component in domain.get("components") or []
    ]


def kanto_feedback(
    activity: str, status: str, document: dict[str, Any], action: str, progress: int, message: str = ""
) -> bytes:
    actions = [
        {"component": component, "status": action, "progress": progress, "message": message}
        for component in _components(document)
    ]
    return _kanto(activity, {"status": status, "actions": actions, **({"message": message} if message else {})})


def kanto_current_state(document: dict[str, Any], activity: str = "") -> bytes:
    """The inventory after the desired state applied: each component a software node of its domain (``activity``:
    the refresh it answers)."""
    nodes = [
        {
            "id": component["id"],
            "version": component["version"],
            "name": component["id"].split(":", 1)[1],
            "type": "CONTAINER" if component["id"].startswith("containers:") else "APPLICATION",
        }
        for component in _components(document)
    ]
    agents = sorted({node["id"].split(":", 1)[0] for node in nodes})
    return _kanto(
        activity,
        {
            "hardwareNodes": [{"id": "simulated-board", "version": "1.0", "name": "Simulated board"}],
            "softwareNodes": [{"id": agent, "version": "1.0", "type": "APPLICATION"} for agent in agents] + nodes,
            "associations": [{"sourceId": node["id"].split(":", 1)[0], "targetId": node["id"]} for node in nodes],
        },
    )


FEEDBACK = "update/desiredstatefeedback"
CURRENT_STATE = "update/currentstate"


def kanto_messages(
    request: dict[str, Any], mode: str, step_delay: float, held: str | None = None
) -> list[tuple[float, str, bytes]]:
    """What a Kanto update manager in ``mode`` publishes for a desired state: ``(after seconds, topic suffix,
    message)``. ``held``: the activity a ``supersede`` device still holds RUNNING, reported SUPERSEDED first."""
    if mode == "silent":
        return []
    if mode == "malformed":
        return [(0.0, FEEDBACK, MALFORMED)]
    activity = str(uuid.uuid4()) if mode == "unknown" else str(request.get("activityId", ""))
    document = request.get("payload") or {}
    out: list[tuple[float, str, bytes]] = []
    if held:
        out.append((0.0, FEEDBACK, kanto_feedback(held, "SUPERSEDED", {}, "UPDATING", 0)))
    out.append((0.0, FEEDBACK, kanto_feedback(activity, "IDENTIFIED", document, "IDENTIFIED", 0)))
    out.append((0.0, FEEDBACK, kanto_feedback(activity, "RUNNING", document, "UPDATING", 0)))
    if mode == "supersede" and not held:
        return out  # held RUNNING until the next desired state
    later = step_delay
    if mode == "slow":
        for progress in (25, 50, 75):
            out.append((later, FEEDBACK, kanto_feedback(activity, "RUNNING", document, "UPDATING", progress)))
            later += step_delay
    if mode == "fail":
        message = "simulated failure: checksum mismatch"
        out.append((later, FEEDBACK, kanto_feedback(activity, "INCOMPLETE", document, "UPDATE_FAILURE", 100, message)))
        return out
    done = kanto_feedback(activity, "COMPLETED", document, "UPDATE_SUCCESS", 100)
    out.append((later, FEEDBACK, done))
    if mode == "duplicate":
        out.append((later, FEEDBACK, done))
    out.append((later, CURRENT_STATE, kanto_current_state(document)))
    return out


# Kanto's AutoUploadable ---------------------------------------------------------------------------------------------

DEFAULT_FILES = {"device.log": b"2026-12-06T22:00:00Z boot\n2026-12-06T22:00:01Z app started\n"}


def upload_requests(trigger: dict[str, Any], files: dict[str, bytes], mode: str) -> list[tuple[str, bytes]]:
    """Kanto's ``request`` events for a trigger: one per file, ``<correlationId>#<n>``."""
    if mode == "silent":
        return []
    out = []
    for number, (name, content) in enumerate(sorted(files.items()), start=1):
        digest = hashlib.sha256(content if mode != "fail" else content + b"!").hexdigest()
        body = {
            "correlationId": f"{trigger.get('correlationId')}#{number}",
            "options": {"file.name": name, "file.checksum": f"sha256:{digest}"},
        }
        out.append(("upload/request", json.dumps(body).encode()))
    return out


def upload_file(start: dict[str, Any], files: dict[str, bytes], mode: str = "answer") -> list[tuple[str, bytes]]:
    """What the device does with a ``start``: PUT the file to its URL, then report UPLOADING and the outcome
    (``slow``: UPLOADING at 25 % only, the file held until a cancel)."""
    correlation = str(start.get("correlationId", ""))
    number = int(correlation.rsplit("#", 1)[-1]) if "#" in correlation else 1
    name, content = sorted(files.items())[number - 1]
    options = start.get("options") or {}
    began = int(time.time() * 1000)
    status = {"correlationId": correlation, "startTime": began, "progress": 0, "state": "UPLOADING"}
    if mode == "slow":
        return [("upload/status", json.dumps({**status, "progress": 25}).encode())]
    reports = [("upload/status", json.dumps(status).encode())]
    request = urllib.request.Request(
        options.get("https.url", ""),
        data=content,
        method=options.get("https.method", "PUT"),
        # Not urllib's form encoding, which an S3 endpoint may read as a form.
        headers={"Content-Type": "application/octet-stream"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            code = response.status
        outcome = {"state": "SUCCESS", "progress": 100, "statusCode": str(code), "message": f"{name} uploaded"}
    except (urllib.error.URLError, ValueError) as exc:
        outcome = {"state": "FAILED", "progress": 0, "statusCode": str(getattr(exc, "code", "")), "message": str(exc)}
    done = {**status, **outcome, "endTime": int(time.time() * 1000)}
    reports.append(("upload/status", json.dumps(done).encode()))
    return reports


def upload_canceled(cancel: dict[str, Any]) -> tuple[str, bytes]:
    """Kanto's answer to a ``cancel``: the upload's status report CANCELED."""
    now = int(time.time() * 1000)
    body = {
        "correlationId": str(cancel.get("correlationId", "")),
        "state": "CANCELED",
        "progress": 0,
        "endTime": now,
        "statusCode": str(cancel.get("statusCode", "")),
        "message": str(cancel.get("message") or "canceled"),
    }
    return "upload/status", json.dumps(body).encode()


@dataclass
class DeviceRecord:
    """What one simulated device saw: when it connected, the requests it got and when it answered."""

    slug: str
    connect_started: float = 0.0
    connected_at: float | None = None  # None while not connected
    connections: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    replied_at: list[float] = field(default_factory=list)
    held_activity: str | None = None  # a ``supersede`` Kanto device's desired state still RUNNING
    applied: dict[str, Any] = field(default_factory=dict)  # the Kanto device's last desired state, its inventory


class MqttFleet:
    """Devices over MQTT, all driven from one thread with ``select`` (no thread per device)."""

    def __init__(
        self,
        *,
        broker: BrokerAddress,
        logins: dict[str, str],
        mode: str = "answer",
        reply_delay: float = 0.0,
        birth: bool = True,
        files: dict[str, bytes] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode is one of {MODES}")
        self.broker = broker
        self.mode = mode
        self.reply_delay = reply_delay
        self.birth = birth
        self.files = files or DEFAULT_FILES
        self.records = {slug: DeviceRecord(slug) for slug in logins}
        self.clients: dict[str, mqtt.Client] = {}
        self.refused: dict[str, str] = {}
        self._due: list[tuple[float, int, str, bytes]] = []  # (when, sequence, topic, payload)
        self._sequence = itertools.count()
        for slug, password in logins.items():
            address = BrokerAddress(broker.host, broker.port, slug, password, broker.tls)
            client = new_client(address, slug)
            client.will_set(f"devices/{slug}/{PRESENCE_TOPIC}", json.dumps({"status": "offline"}), qos=1)
            client.user_data_set(slug)
            client.on_connect = self._on_connect
            client.on_message = self._on_message
            self.clients[slug] = client

    # callbacks (called from run(), in this thread) --------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, slug: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self.refused[slug] = str(reason_code)
            return
        self.records[slug].connected_at = time.monotonic()
        self.records[slug].connections += 1
        client.subscribe([(f"devices/{slug}/{kind.mqtt_request_suffix}", 1) for kind in registry.values()])
        if self.birth:
            client.publish(f"devices/{slug}/{PRESENCE_TOPIC}", json.dumps({"status": "online"}), qos=1)

    def _on_message(self, client: mqtt.Client, slug: Any, message: mqtt.MQTTMessage) -> None:
        try:
            request = json.loads(message.payload)
        except ValueError:
            return
        record = self.records[slug]
        record.requests.append(request)
        suffix = message.topic.split("/", 2)[2]
        if suffix in ("upload/trigger", "upload/start", "upload/cancel"):
            if self.mode == "silent":
                return
            if suffix == "upload/trigger":
                out = upload_requests(request, self.files, self.mode)
            elif suffix == "upload/start":
                out = upload_file(request, self.files, self.mode)
            else:
                out = [upload_canceled(request)]
            for topic_suffix, payload in out:
                due = time.monotonic() + self.reply_delay
                heapq.heappush(self._due, (due, next(self._sequence), f"devices/{slug}/{topic_suffix}", payload))
            return
        if suffix == CURRENT_STATE_GET_SUFFIX:
            if self.mode != "silent":
                inventory = kanto_current_state(record.applied, str(request.get("activityId", "")))
                heapq.heappush(
                    self._due,
                    (
                        time.monotonic() + self.reply_delay,
                        next(self._sequence),
                        f"devices/{slug}/{CURRENT_STATE}",
                        inventory,
                    ),
                )
            return
        if message.topic.endswith(f"/{DESIRED_STATE_SUFFIX}"):
            if self.mode not in ("fail", "silent", "malformed"):
                record.applied = request.get("payload") or {}
            held, record.held_activity = record.held_activity, None
            if self.mode == "supersede" and held is None:
                record.held_activity = str(request.get("activityId"))
            for after, suffix, payload in kanto_messages(request, self.mode, self.reply_delay, held):
                due = time.monotonic() + after
                heapq.heappush(self._due, (due, next(self._sequence), f"devices/{slug}/{suffix}", payload))
            return
        topic = reply_topic(slug, message.topic.rsplit("/", 1)[1].removesuffix("_req"))
        for payload in reply_for(request, self.mode):
            heapq.heappush(self._due, (time.monotonic() + self.reply_delay, next(self._sequence), topic, payload))

    # driving ----------------------------------------------------------------------------------------------------

    def connect(self, slugs: list[str] | None = None) -> None:
        """Open the connections (all at once: the CONNECT packets go out together, the answers come in run())."""
        for slug in slugs or list(self.clients):
            self.records[slug].connect_started = time.monotonic()
            self.clients[slug].connect(self.broker.host, self.broker.port, keepalive=60)

    def disconnect(self, slugs: list[str] | None = None, *, clean: bool = True) -> None:
        """Close connections: cleanly (an offline presence first), or by dropping the socket, which makes the
        broker publish the last will."""
        for slug in slugs or list(self.clients):
            client = self.clients[slug]
            if clean:
                client.publish(f"devices/{slug}/{PRESENCE_TOPIC}", json.dumps({"status": "offline"}), qos=1)
                client.loop_write()
                client.disconnect()
            else:
                sock = client.socket()
                if sock is not None:
                    sock.close()
            self.records[slug].connected_at = None

    def run(self, *, seconds: float, until: Callable[[MqttFleet], bool] | None = None) -> None:
        """Drive every connection for ``seconds``, or until ``until(fleet)`` is true."""
        end = time.monotonic() + seconds
        next_misc = 0.0
        while time.monotonic() < end and not (until and until(self)):
            self._send_due()
            sockets = {}
            writers = []
            for client in self.clients.values():
                sock = client.socket()
                if sock is None or sock.fileno() < 0:
                    continue
                sockets[sock] = client
                if client.want_write():
                    writers.append(sock)
            if not sockets:
                time.sleep(0.05)
                continue
            wait = 0.05 if not self._due else max(0.0, min(0.05, self._due[0][0] - time.monotonic()))
            readable, writable, _ = select.select(list(sockets), writers, [], wait)
            for sock in readable:
                sockets[sock].loop_read()
            for sock in writable:
                sockets[sock].loop_write()
            if time.monotonic() >= next_misc:
                # Keep-alives and timeouts: once a second is plenty, and a thousand clients make it costly.
                next_misc = time.monotonic() + 1.0
                for client in sockets.values():
                    client.loop_misc()

    def _send_due(self) -> None:
        now = time.monotonic()
        while self._due and self._due[0][0] <= now:
            _, _, topic, payload = heapq.heappop(self._due)
            slug = topic.split("/")[1]
            self.clients[slug].publish(topic, payload, qos=1)
            self.records[slug].replied_at.append(now)

    def all_connected(self) -> bool:
        return all(record.connected_at is not None for record in self.records.values())

    def publish_raw(self, slug: str, suffix: str, payload: bytes) -> None:
        """Publish anything on one of the device's topics (``config_resp``, ``update/desiredstatefeedback``), or on a
        whole topic (``devices/<another device>/…``)."""
        topic = suffix if suffix.startswith("devices/") else f"devices/{slug}/{suffix}"
        self.clients[slug].publish(topic, payload, qos=1)

    def close(self) -> None:
        for client in self.clients.values():
            sock = client.socket()
            if sock is not None:
                client.disconnect()
                client.loop_write()


class HttpDevice:
    """A device over HTTP: ``poll()`` asks for its pending operations and answers them as ``mode`` says."""

    def __init__(self, *, base_url: str, token: str, mode: str = "answer") -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.mode = mode
        self.requests: list[dict[str, Any]] = []
        self.outcomes: list[Any] = []

    def _call(self, path: str, body: bytes | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.base_url}/api/v1/operation/{path}",
            data=body,
            headers={"Authorization": f"a-jwt {self.token}", "Content-Type": "application/json"},
            method="POST" if body is not None else "GET",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def poll(self) -> list[dict[str, Any]]:
        requests = self._call("poll/")
        self.requests.extend(requests)
        for request in requests:
            for payload in reply_for(request, self.mode):
                try:
                    self.outcomes.append(self._call("reply/", payload))
                except urllib.error.HTTPError as exc:
                    self.outcomes.append({"status": exc.code})
        return requests


class StoreDevice:
    """A device through the file stores (the RustiQ monitoring service): reads its commands, writes its status."""

    def __init__(self, *, slug: str, service: str = "monitoring-1.0", mode: str = "answer") -> None:
        self.slug = slug
        self.service = service
        self.mode = mode

    def commands(self) -> list[dict[str, Any]]:
        key = commands_key(self.slug, self.service)
        if not store_file_exists(store=INCOMING_STORE, key=key):
            return []
        return list(json.loads(store_file_read(store=INCOMING_STORE, key=key)))

    def status_for(self, commands: list[dict[str, Any]]) -> bytes:
        if self.mode == "malformed":
            return MALFORMED
        entries = []
        for command in commands:
            ok = self.mode != "fail"
            entries.append(
                {
                    "command": command["command"],
                    **({"operationId": command["operationId"]} if self.mode != "unknown" else {}),
                    "result": json.dumps({"apps": ["monitoring"], "command": command["command"]}) if ok else "",
                    "status": "ok" if ok else "error",
                }
            )
        body = {
            "general_status": "ok" if self.mode != "fail" else "degraded",
            "general_error": "" if self.mode != "fail" else "simulated failure",
            "commands": entries * (2 if self.mode == "duplicate" else 1),
        }
        return json.dumps(body).encode()

    def answer(self) -> int:
        """Read the commands and write the status file (nothing in ``silent`` mode); returns how many commands."""
        commands = self.commands()
        if self.mode != "silent" and commands:
            store_file_save(
                store=STATUS_STORE, key=status_key(self.slug, self.service), content=self.status_for(commands)
            )
        return len(commands)
