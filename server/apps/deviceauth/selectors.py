"""Reads on device keys. They are not scoped to a user: the worker reads them to verify reports."""

from __future__ import annotations

from django.db.models import QuerySet

from server.apps.deviceauth.models import DeviceKey, DeviceKeyType

# Signature flags of a SignedListReport (byte 16) → the key that signed it.
KEY_TYPE_BY_SIGNATURE_FLAG = {1: DeviceKeyType.USER, 2: DeviceKeyType.DEVICE}


def report_root_keys(*, device_id: int) -> dict[int, bytes]:
    """The device's root keys by the signature flag they verify: ``{1: user key, 2: device key}`` (those it has).
    One query."""
    wanted: dict[str, int] = {key_type: flag for flag, key_type in KEY_TYPE_BY_SIGNATURE_FLAG.items()}
    keys = DeviceKey.objects.filter(device_id=device_id, type__in=list(wanted)).order_by().values_list("type", "secret")
    found = {}
    for key_type, secret in keys:
        try:
            found[wanted[key_type]] = bytes.fromhex(secret)
        except ValueError:
            continue  # a malformed secret cannot verify anything; the report then fails with "no key known"
    return found


def device_key_for_download(*, user, device, key_type: str) -> DeviceKey | None:
    """The device's stored key of ``key_type`` as ``user`` may download it: a key marked downloadable (the caller
    has checked ``user`` may modify the device), or any key for those who see keys at all (staff)."""
    keys = DeviceKey.objects.filter(device=device, type=key_type)
    return (keys.filter(downloadable=True) | keys.restrict(user, "view")).first()


def device_keys_for_download(*, user, device) -> list[tuple[str, str]]:
    """``(type, label)`` of each stored key of ``device`` that ``user`` may download (as
    :func:`device_key_for_download`; the caller has checked ``user`` may modify the device). One query."""
    keys = DeviceKey.objects.filter(device=device)
    types = (
        (keys.filter(downloadable=True) | keys.restrict(user, "view")).order_by("type").values_list("type", flat=True)
    )
    labels = dict(DeviceKeyType.choices)
    return [(key_type, labels.get(key_type, key_type)) for key_type in types.distinct()]


def device_keys(*, device) -> QuerySet[DeviceKey]:
    """The device's stored keys, with who set them. The caller has checked the user may see them."""
    return DeviceKey.objects.filter(device=device).select_related("created_by").order_by("type")
