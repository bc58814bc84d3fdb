"""Per-device MQTT logins: each device logs in to the broker as its slug, with a password kept as its ``MQTT``
device key (downloadable from the device page by whoever may modify the device), and reaches its own topics only.
The broker learns them through its dynamic-security plugin, with the admin login in ``MQTT_ADMIN_URL``."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import user_can
from server.apps.device.models import Device
from server.apps.deviceauth.models import DeviceKey, DeviceKeyType
from server.apps.operation.transports.dynsec import (
    broker_admin_run,
    device_login_commands,
    device_login_delete_commands,
)

# Devices per control message to the broker.
PROVISION_CHUNK = 100


def mqtt_password_new() -> str:
    return secrets.token_urlsafe(24)


def device_mqtt_logins_provision(
    *, devices: Sequence[Device], user: Any = None, rotate: bool = False
) -> dict[str, str]:
    """Make sure each device has its MQTT password (a new one with ``rotate``) and its login and topic rules on the
    broker; returns ``{slug: password}``. ``user`` (None: the platform itself) must be allowed to modify each
    device. Saved first, then sent to the broker, so a broker outage leaves nothing half made: the call can be
    repeated."""
    if not settings.MQTT_ADMIN_URL:
        raise ApplicationError("MQTT is not configured on this platform (MQTT_ADMIN_URL).")
    if user is not None and not all(user_can(user, device, "change") for device in devices):
        raise PermissionDeniedError("You may not manage this device's MQTT login.")
    with transaction.atomic():
        keys = {
            key.device_id: key
            for key in DeviceKey.objects.select_for_update().filter(device__in=list(devices), type=DeviceKeyType.MQTT)
        }
        new = []
        for device in devices:
            key = keys.get(device.pk)
            if key is None:
                key = DeviceKey(
                    device=device,
                    type=DeviceKeyType.MQTT,
                    secret=mqtt_password_new(),
                    downloadable=True,
                    created_by=user,
                )
                keys[device.pk] = key
                new.append(key)
            elif rotate:
                key.secret = mqtt_password_new()
                key.save(update_fields=["secret"])
        DeviceKey.objects.bulk_create(new)
    passwords = {device.slug: keys[device.pk].secret for device in devices}
    items = list(passwords.items())
    for start in range(0, len(items), PROVISION_CHUNK):
        commands = [
            command
            for slug, password in items[start : start + PROVISION_CHUNK]
            for command in device_login_commands(slug, password)
        ]
        broker_admin_run(settings.MQTT_ADMIN_URL, commands)
    return passwords


def device_mqtt_logins_sync(*, device_ids: Sequence[int]) -> int:
    """Make the broker's logins of the devices match their ``MQTT`` keys as stored now: the key's password when the
    device has one, no login (and no role) when it has none (revoked, or the device is gone). Staff set, rotate and
    revoke keys with ``deviceauth``'s services, which queue this after their commit (the ``SyncMqttLogins``
    action): the broker's state always follows the database's, and a broker outage is retried. Returns how many
    logins were sent."""
    if not settings.MQTT_ADMIN_URL:
        return 0
    slugs = dict(Device.objects.filter(pk__in=list(device_ids)).values_list("pk", "slug"))
    passwords = dict(
        DeviceKey.objects.filter(device_id__in=list(slugs), type=DeviceKeyType.MQTT).values_list("device_id", "secret")
    )
    commands = [
        command
        for device_id, slug in sorted(slugs.items())
        for command in (
            device_login_commands(slug, passwords[device_id])
            if device_id in passwords
            else device_login_delete_commands(slug)
        )
    ]
    if commands:
        broker_admin_run(settings.MQTT_ADMIN_URL, commands)
    return len(slugs)
