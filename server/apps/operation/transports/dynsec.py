"""Mosquitto's dynamic-security plugin, driven over its control topic (``$CONTROL/dynamic-security/v1``).

Each device logs in to the broker as its slug with its own password, and a role of its own lets it publish,
subscribe and receive on ``devices/<slug>/#`` only. The platform's login (``MQTT_URL``) gets a role on
``devices/#``. The commands go in one message per call, whatever their number, and the broker answers each.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt

from server.apps.operation.transports.mqtt import broker_address, new_client

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
PLATFORM_ROLE = "platform"
# Errors that mean the thing is there already: provisioning twice is not a failure.
ALREADY_THERE = ("already exists", "Role already exists", "Client already exists")
# Errors of a delete that mean the thing is gone already: revoking twice is not a failure either.
GONE_ALREADY = ("not found",)


class BrokerAdminError(Exception):
    pass


def device_topic_root(device_slug: str) -> str:
    return f"devices/{device_slug}"


def device_role(device_slug: str) -> str:
    return f"device-{device_slug}"


def _acls(topic: str) -> list[dict[str, Any]]:
    return [
        {"acltype": acltype, "topic": topic, "allow": True, "priority": 0}
        for acltype in ("publishClientSend", "publishClientReceive", "subscribePattern", "unsubscribePattern")
    ]


def device_login_commands(device_slug: str, password: str) -> list[dict[str, Any]]:
    """Create the device's role on its own topics and its login holding it; or, when they exist, set the password.
    Three commands per device: the plugin saves its file after each one."""
    role = device_role(device_slug)
    return [
        {
            "command": "createRole",
            "rolename": role,
            "textname": f"{device_slug}'s own topics",
            "acls": _acls(f"{device_topic_root(device_slug)}/#"),
        },
        {"command": "createClient", "username": device_slug, "password": password, "roles": [{"rolename": role}]},
        {"command": "setClientPassword", "username": device_slug, "password": password},
    ]


def device_login_delete_commands(device_slug: str) -> list[dict[str, Any]]:
    return [
        {"command": "deleteClient", "username": device_slug},
        {"command": "deleteRole", "rolename": device_role(device_slug)},
    ]


def platform_login_commands(username: str, password: str) -> list[dict[str, Any]]:
    """The platform's own login (the bridge and the worker): every device's topics."""
    return [
        {"command": "createRole", "rolename": PLATFORM_ROLE, "textname": "the platform: every device's topics"},
        *[{"command": "addRoleACL", "rolename": PLATFORM_ROLE, **acl} for acl in _acls("devices/#")],
        # Several bridges share the subscriptions ($share/<group>/devices/…).
        {
            "command": "addRoleACL",
            "rolename": PLATFORM_ROLE,
            "acltype": "subscribePattern",
            "topic": "$share/+/devices/#",
            "allow": True,
        },
        {"command": "createClient", "username": username, "password": password},
        {"command": "setClientPassword", "username": username, "password": password},
        {"command": "removeClientRole", "username": username, "rolename": PLATFORM_ROLE},
        {"command": "addClientRole", "username": username, "rolename": PLATFORM_ROLE, "priority": 0},
    ]


def _harmless(response: dict[str, Any]) -> bool:
    error = str(response.get("error") or "")
    if not error or any(text in error for text in ALREADY_THERE):
        return True
    return str(response.get("command", "")).startswith("delete") and any(text in error for text in GONE_ALREADY)


def broker_admin_run(url: str, commands: Sequence[dict[str, Any]], *, timeout: float | None = None) -> list[dict]:
    """Send ``commands`` with the admin login in ``url`` and return the broker's answers. An error other than "it
    exists already" raises :class:`BrokerAdminError`; a broker that cannot be reached raises ``ConnectionError``."""
    # The plugin writes its whole file after each command: a long list takes a while.
    timeout = timeout or 10.0 + 0.2 * len(commands)
    address = broker_address(url)
    client = new_client(address, f"platform-admin-{uuid.uuid4().hex[:12]}")
    answered = threading.Event()
    subscribed = threading.Event()
    responses: list[dict] = []

    def on_subscribe(client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        subscribed.set()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        responses.extend(json.loads(message.payload).get("responses", []))
        answered.set()

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        client.subscribe(RESPONSE_TOPIC, qos=1)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:
        raise ConnectionError(f"The MQTT broker cannot be reached: {exc}") from exc
    client.loop_start()
    try:
        if not subscribed.wait(timeout):
            raise ConnectionError("The MQTT broker did not accept the admin login (MQTT admin URL).")
        client.publish(CONTROL_TOPIC, json.dumps({"commands": list(commands)}), qos=1)
        if not answered.wait(timeout):
            raise ConnectionError("The MQTT broker's dynamic-security plugin did not answer.")
    finally:
        client.disconnect()
        client.loop_stop()
    errors = [f"{each.get('command')}: {each['error']}" for each in responses if not _harmless(each)]
    if errors:
        raise BrokerAdminError("; ".join(errors))
    return responses
