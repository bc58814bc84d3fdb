"""Writes on device keys. Keys are secrets: only staff set them (the model keeps every action for staff)."""

from __future__ import annotations

from django.db import transaction

from server.apps.core.errors import PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.deviceauth.models import DeviceKey


@transaction.atomic
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
