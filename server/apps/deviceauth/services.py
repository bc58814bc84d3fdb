"""Writes on device keys. Keys are secrets: only staff set, rotate and revoke them (the model keeps every action for
staff); device token signing keys are also made on first use by the token services below."""

from __future__ import annotations

import hmac
import secrets

from django.conf import settings
from django.db import transaction

from server.apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.deviceauth.models import DeviceKey, DeviceKeyType
from server.apps.deviceauth.tokens import device_token_encode, new_device_token_secret
from server.apps.worker.queue import enqueue_on_commit


def _claim_key_normal(text: str) -> str:
    """A claim key as compared: upper case, without the dashes and spaces people type into it."""
    return "".join(text.split()).replace("-", "").upper()


def new_device_key_secret(type: str) -> str:
    """A fresh random secret for a key of ``type``. An SSH key is a public key someone holds the other half of, so
    it is never made up here."""
    if type in (DeviceKeyType.USER, DeviceKeyType.DEVICE):
        return secrets.token_hex(32)
    if type == DeviceKeyType.A_JWT:
        return new_device_token_secret()
    if type == DeviceKeyType.CLAIM:
        digits = secrets.token_hex(8).upper()  # 64 bits, typed from a label: XXXX-XXXX-XXXX-XXXX
        return "-".join(digits[i : i + 4] for i in range(0, 16, 4))
    if type in (DeviceKeyType.MQTT, DeviceKeyType.API_KEY):
        return secrets.token_urlsafe(32)
    raise ApplicationError(f"A {type} key cannot be generated: give its value.", {"secret": ["Required."]})


def _broker_follows(device, type: str) -> None:
    """An MQTT key is the device's broker password: once the change commits, the worker pushes the login as it now
    is to the broker (``SyncMqttLogins``, operation app), so the old password stops working there too."""
    if type == DeviceKeyType.MQTT and settings.MQTT_ADMIN_URL:
        enqueue_on_commit("SyncMqttLogins", {"device_ids": [device.pk]})


def _require_staff(user, doing: str) -> None:
    if not user_has_org_permission(user, None, permission_for(DeviceKey, "add")):
        raise PermissionDeniedError(f"Only staff may {doing} device keys.")


@transaction.atomic
def device_key_set(*, device, type: str, secret: str | None, created_by, downloadable: bool = False) -> DeviceKey:
    """Give ``device`` its key of ``type``, replacing the one it had (``secret`` None: a new random one). A user
    (``USR``) or device (``DEV``) key is the 32-byte root key that signs and encrypts its reports, as 64 hex digits.
    Replacing the token signing key (``A-JWT-KEY``) ends every device token issued before; a claim key (``CLAIM``)
    is asked for when the device is claimed."""
    _require_staff(created_by, "set")
    if secret is None or not secret.strip():
        secret = new_device_key_secret(type)
    key = DeviceKey.objects.filter(device=device, type=type).first() or DeviceKey(device=device, type=type)
    key.secret = secret.strip().lower() if type in ("USR", "DEV") else secret.strip()
    key.downloadable = downloadable
    key.created_by = created_by
    key.full_clean()
    key.save()
    _broker_follows(device, type)
    return key


@transaction.atomic
def device_key_rotate(*, device, type: str, rotated_by) -> DeviceKey:
    """Replace the device's key of ``type`` with a new random one, keeping whether it is downloadable. For the token
    signing key this ends every device token issued before."""
    _require_staff(rotated_by, "rotate")
    key = DeviceKey.objects.select_for_update().filter(device=device, type=type).first()
    if key is None:
        raise NotFoundError(f"The device has no {type} key to rotate.")
    return device_key_set(
        device=device,
        type=type,
        secret=new_device_key_secret(type),
        created_by=rotated_by,
        downloadable=key.downloadable,
    )


@transaction.atomic
def device_key_revoke(*, device, type: str, revoked_by) -> None:
    """Delete the device's key of ``type``: reports signed with a root key are refused, device tokens stop working
    (a new signing key is made when a token is next asked for), a claim key is no longer asked for, an MQTT login
    is deleted from the broker."""
    _require_staff(revoked_by, "revoke")
    deleted, _ = DeviceKey.objects.filter(device=device, type=type).delete()
    if not deleted:
        raise NotFoundError(f"The device has no {type} key to revoke.")
    _broker_follows(device, type)


def device_claim_key_check(*, device, claim_key: str | None) -> None:
    """Refuse a claim that does not present the device's claim key, when it has one (``ApplicationError``, 400)."""
    required = DeviceKey.objects.filter(device=device, type=DeviceKeyType.CLAIM).values_list("secret", flat=True)
    expected = required.first()
    if expected is None:
        return
    given = _claim_key_normal(claim_key or "")
    if not given or not hmac.compare_digest(given.encode(), _claim_key_normal(expected).encode()):
        message = "This device is claimed with its claim key; the one given is missing or does not match."
        raise ApplicationError(message, {"claim_key": [message]})


# Device tokens (a-jwt) ----------------------------------------------------------------------------------------------


def _device_token_key(device) -> DeviceKey:
    """The device's token signing key, made on first use (concurrent first uses end with the same key)."""
    key, _ = DeviceKey.objects.get_or_create(
        device=device, type=DeviceKeyType.A_JWT, defaults={"secret": new_device_token_secret()}
    )
    return key


@transaction.atomic(durable=True)
def device_token_issue(*, user, device) -> str:
    """A device token (``a-jwt``) for ``device`` acting with ``user``'s rights, narrowed to the device
    (``deviceauth.tokens``). The caller has checked that ``user`` may modify the device. Only an active, claimed
    device gets one: the token is bound to its current project."""
    if device.project_id is None or not device.active:
        raise ApplicationError(
            "Only an active device claimed into a project can have a device token.", {"device": ["Not claimed."]}
        )
    return device_token_encode(user=user, device=device, secret=_device_token_key(device).secret)


@transaction.atomic(durable=True)
def device_token_key_rotate(*, device) -> DeviceKey:
    """Give the device a new token signing key: every device token issued before stops working."""
    key = _device_token_key(device)
    key.secret = new_device_token_secret()
    key.save(update_fields=["secret"])
    return key
