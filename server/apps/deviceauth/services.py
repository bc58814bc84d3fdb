"""Writes on device keys. Keys are secrets: only staff set them (the model keeps every action for staff); device
token signing keys are made and rotated by the token services below."""

from __future__ import annotations

from django.db import transaction

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.deviceauth.models import DeviceKey, DeviceKeyType
from server.apps.deviceauth.tokens import device_token_encode, new_device_token_secret


@transaction.atomic(durable=True)
def device_key_set(*, device, type: str, secret: str, created_by, downloadable: bool = False) -> DeviceKey:
    """Give ``device`` its key of ``type``, replacing the one it had. A user (``USR``) or device (``DEV``) key is
    the 32-byte root key that signs and encrypts its reports, as 64 hex digits."""
    if not user_has_org_permission(created_by, None, permission_for(DeviceKey, "add")):
        raise PermissionDeniedError("Only staff may set device keys.")
    key = DeviceKey.objects.filter(device=device, type=type).first() or DeviceKey(device=device, type=type)
    key.secret = secret.strip().lower() if type in ("USR", "DEV") else secret
    key.downloadable = downloadable
    key.created_by = created_by
    key.full_clean()
    key.save()
    return key


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
