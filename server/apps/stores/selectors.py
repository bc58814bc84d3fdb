"""Reads from the named stores. Stores hold platform files, not user-scoped rows: callers decide who may read a key
before they call these."""

from __future__ import annotations

import os
from typing import IO

from django.core.files.storage import Storage

from server.apps.stores.backends import StoreFileNotFoundError, clean_key, clean_prefix, get_store, is_s3


def _not_found(store: str, key: str) -> StoreFileNotFoundError:
    return StoreFileNotFoundError(f"no file {key!r} in store {store!r}", extra={"store": store, "key": key})


def store_file_open(*, store: str, key: str) -> IO[bytes]:
    """An open binary file for ``key`` (close it, or use it as a context manager)."""
    clean_key(key)
    try:
        return get_store(store).open(key, "rb")
    except (FileNotFoundError, IsADirectoryError):
        raise _not_found(store, key) from None


def store_file_read(*, store: str, key: str) -> bytes:
    """The whole content of the file at ``key``."""
    with store_file_open(store=store, key=key) as file:
        return file.read()


def store_file_exists(*, store: str, key: str) -> bool:
    clean_key(key)
    storage = get_store(store)
    if not is_s3(storage):
        # A folder is not a file.
        return os.path.isfile(storage.path(key))
    return storage.exists(key)


def store_file_size(*, store: str, key: str) -> int:
    clean_key(key)
    try:
        return get_store(store).size(key)
    except FileNotFoundError:
        raise _not_found(store, key) from None


def _s3_keys(storage: Storage, prefix: str) -> list[str]:
    location = storage.location.strip("/")
    base = f"{location}/" if location else ""
    objects = storage.bucket.objects.filter(Prefix=base + prefix)
    return [obj.key[len(base) :] for obj in objects if not obj.key.endswith("/")]


def _folder_keys(storage: Storage, prefix: str) -> list[str]:
    # Walk only the deepest folder the prefix names, then filter on the rest of the text.
    folder = prefix.rpartition("/")[0]
    root = storage.path(folder) if folder else storage.path("")
    keys = []
    for directory, _subdirectories, files in os.walk(root):
        relative = os.path.relpath(directory, storage.path("")).replace(os.sep, "/")
        for name in files:
            key = name if relative == "." else f"{relative}/{name}"
            if key.startswith(prefix):
                keys.append(key)
    return keys


def store_file_list(*, store: str, prefix: str = "") -> list[str]:
    """Every key in ``store`` that starts with ``prefix`` (text prefix, as in S3), sorted."""
    clean_prefix(prefix)
    storage = get_store(store)
    keys = _s3_keys(storage, prefix) if is_s3(storage) else _folder_keys(storage, prefix)
    return sorted(keys)


def store_file_url(*, store: str, key: str, expires: int = 3600) -> str | None:
    """A time-limited download URL (S3 presigned GET), or ``None`` where the backend cannot serve files."""
    clean_key(key)
    storage = get_store(store)
    if not is_s3(storage):
        return None
    return storage.url(key, expire=expires)
