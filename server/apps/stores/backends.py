"""Named stores as Django storages, built once per process from the ``STORES`` setting."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.core.signals import setting_changed
from storages.backends.s3 import S3Storage

from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.stores.config import FILESYSTEM, S3

_stores: dict[str, Storage] = {}
_lock = threading.Lock()


class UnknownStoreError(NotFoundError):
    """The name is neither a known store nor one ``STORE_CONFIGURATION`` adds."""


class InvalidStoreKeyError(ApplicationError):
    """A key must be a relative path of non-empty parts, without ``..``, backslashes or a trailing slash."""


class StoreFileNotFoundError(NotFoundError):
    """No file at that key in that store."""


def clean_key(key: str) -> str:
    """Check a key; keys are used exactly as given, never rewritten."""
    parts = key.split("/") if isinstance(key, str) else [""]
    if not key or "\\" in key or "\x00" in key or any(part in ("", ".", "..") for part in parts):
        raise InvalidStoreKeyError(f"invalid store key {key!r}", extra={"key": key})
    return key


def clean_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key-like text that may end with ``/``."""
    if not prefix:
        return ""
    clean_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def store_names() -> list[str]:
    return sorted(settings.STORES)


def store_config(name: str) -> dict[str, Any]:
    try:
        return settings.STORES[name]
    except KeyError:
        raise UnknownStoreError(
            f"unknown store {name!r}; the stores are: {', '.join(store_names())}", extra={"store": name}
        ) from None


def _build(config: dict[str, Any]) -> Storage:
    if config["backend"] == S3:
        options = {
            "bucket_name": config["bucket_name"],
            "region_name": config.get("region_name"),
            "location": config.get("location", ""),
            "endpoint_url": config.get("endpoint_url"),
            # Keys are exact: saving at an existing key replaces the file instead of inventing a new name.
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
        }
        # Without explicit keys boto3's usual chain applies (environment, profile, instance role).
        if config.get("access_key"):
            options["access_key"] = config["access_key"]
            options["secret_key"] = config.get("secret_key")
        return S3Storage(**options)
    if config["backend"] == FILESYSTEM:
        return FileSystemStorage(location=config["location"], allow_overwrite=True)
    raise ValueError(f"unknown store backend {config['backend']!r}")


def get_store(name: str) -> Storage:
    """The storage behind store ``name`` (cached per process). Raises :class:`UnknownStoreError`."""
    store = _stores.get(name)
    if store is None:
        config = store_config(name)
        with _lock:
            store = _stores.get(name)
            if store is None:
                store = _stores[name] = _build(config)
    return store


def is_s3(store: Storage) -> bool:
    return isinstance(store, S3Storage)


def clear_store_cache(**kwargs: Any) -> None:
    if kwargs.get("setting") in (None, "STORES"):
        _stores.clear()


setting_changed.connect(clear_store_cache, dispatch_uid="stores.clear_store_cache")
