"""Reads from the named stores. Stores hold platform files, not user-scoped rows: callers decide who may read a key
before they call these. A missing file raises ``StoreFileNotFoundError``; a store that cannot be reached, or is
itself missing (no bucket, its folder path a file), raises ``StoreUnavailableError``, so that a reader such as the
worker retries instead of taking the file for lost."""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import IO

from django.conf import settings
from django.core import signing
from django.core.files.storage import Storage
from django.urls import reverse
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from server.apps.stores.backends import (
    MISSING_FILE_ERRORS,
    StoreFileNotFoundError,
    StoreUnavailableError,
    clean_key,
    clean_prefix,
    get_store,
    is_s3,
    store_is_missing,
    store_outage_as_unavailable,
)
from server.apps.stores.config import S3


def _not_found(store: str, storage: Storage, key: str) -> StoreFileNotFoundError | StoreUnavailableError:
    """The error for a file the store did not find: unavailable if the store itself is gone (S3 answers a HEAD on a
    missing bucket with the same bare 404 as on a missing key), else not found."""
    if store_is_missing(storage):
        return StoreUnavailableError(store, operation="read")
    return StoreFileNotFoundError(f"no file {key!r} in store {store!r}", extra={"store": store, "key": key})


def _reading(store: str) -> AbstractContextManager[None]:
    return store_outage_as_unavailable(store, operation="read", passing=MISSING_FILE_ERRORS)


def store_file_open(*, store: str, key: str) -> IO[bytes]:
    """An open binary file for ``key`` (close it, or use it as a context manager)."""
    clean_key(key)
    storage = get_store(store)
    try:
        with _reading(store):
            return storage.open(key, "rb")
    except MISSING_FILE_ERRORS:
        raise _not_found(store, storage, key) from None


def store_file_read(*, store: str, key: str) -> bytes:
    """The whole content of the file at ``key``."""
    with store_file_open(store=store, key=key) as file, _reading(store):
        return file.read()


def store_file_exists(*, store: str, key: str) -> bool:
    clean_key(key)
    storage = get_store(store)
    with _reading(store):
        # A folder is not a file.
        exists = os.path.isfile(storage.path(key)) if not is_s3(storage) else storage.exists(key)
    if not exists and store_is_missing(storage):
        raise StoreUnavailableError(store, operation="read")
    return exists


def store_file_size(*, store: str, key: str) -> int:
    clean_key(key)
    storage = get_store(store)
    try:
        with _reading(store):
            return storage.size(key)
    except MISSING_FILE_ERRORS:
        raise _not_found(store, storage, key) from None


def _s3_keys(storage: S3Storage, prefix: str) -> list[str]:
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
    with store_outage_as_unavailable(store, operation="listed"):
        if is_s3(storage):
            keys = _s3_keys(storage, prefix)
        elif store_is_missing(storage):  # os.walk would say nothing
            raise StoreUnavailableError(store, operation="listed")
        else:
            keys = _folder_keys(storage, prefix)
    return sorted(keys)


# Folder stores have no URLs of their own: a download link names the file in a signed, expiring token.
_DOWNLOAD_SALT = "stores.download"


def store_file_url(*, store: str, key: str, expires: int = 3600) -> str:
    """A time-limited download URL that needs no other credentials: an S3 presigned GET, or for a folder store a
    signed path on this site (``request.build_absolute_uri`` makes it absolute), served by ``stores:download``."""
    clean_key(key)
    storage = get_store(store)
    if is_s3(storage):
        return storage.url(key, expire=expires)
    token = signing.dumps([store, key, int(time.time()) + expires], salt=_DOWNLOAD_SALT, compress=True)
    return reverse("stores:download", kwargs={"token": token, "name": key.rsplit("/", 1)[-1]})


def store_download_target(*, token: str) -> tuple[str, str]:
    """The ``(store, key)`` a download token names; raises ``StoreFileNotFoundError`` for a token that is forged,
    damaged or expired (all the same to the caller)."""
    try:
        store, key, expires = signing.loads(token, salt=_DOWNLOAD_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise StoreFileNotFoundError("This download link is not valid.") from None
    if not isinstance(expires, int) or expires < time.time():
        raise StoreFileNotFoundError("This download link has expired.")
    return str(store), str(key)


def store_key_of_s3_object(*, bucket: str, key: str) -> tuple[str, str] | None:
    """The store and key of an object as an S3 event notification names it (its bucket and its whole key, URL
    encoded): the store on that bucket whose prefix holds it (the longest, when prefixes nest), and the key under
    that prefix. None for an object no store holds."""
    key = urllib.parse.unquote_plus(key)
    candidates = []
    for name, config in settings.STORES.items():
        if config.get("backend") != S3 or config.get("bucket_name") != bucket:
            continue
        prefix = str(config.get("location") or "").strip("/")
        if not prefix:
            candidates.append((0, name, key))
        elif key.startswith(f"{prefix}/"):
            candidates.append((len(prefix), name, key[len(prefix) + 1 :]))
    if not candidates:
        return None
    _, name, relative = max(candidates)
    return name, relative


# Uploads: a device puts one file at one key with a link that needs no other credentials.
_UPLOAD_SALT = "stores.upload"


def store_upload_url(*, store: str, key: str, expires: int = 3600) -> str:
    """A time-limited URL a device PUTs the file for ``key`` to: an S3 presigned PUT, or for a folder store a
    signed path on this site served by ``stores:upload`` (the same signing as downloads, with its own salt)."""
    clean_key(key)
    storage = get_store(store)
    if is_s3(storage):
        # A put_object signature (the storage's own url() signs get_object whatever the method).
        params = {"Bucket": storage.bucket_name, "Key": storage._normalize_name(clean_name(key))}
        return str(storage.bucket.meta.client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires))
    token = signing.dumps([store, key, int(time.time()) + expires], salt=_UPLOAD_SALT, compress=True)
    return reverse("stores:upload", kwargs={"token": token, "name": key.rsplit("/", 1)[-1]})


def store_upload_target(*, token: str) -> tuple[str, str]:
    """The ``(store, key)`` an upload token names; ``StoreFileNotFoundError`` for a forged, damaged or expired one."""
    try:
        store, key, expires = signing.loads(token, salt=_UPLOAD_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise StoreFileNotFoundError("This upload link is not valid.") from None
    if not isinstance(expires, int) or expires < time.time():
        raise StoreFileNotFoundError("This upload link has expired.")
    return str(store), str(key)


# What a folder store's upload link may still write, per store: ``guard(key)`` answers why not ("" when it may).
# S3 presigned URLs are not asked: once issued, they work until they expire.
UploadGuard = Callable[[str], str]
_upload_guards: dict[str, UploadGuard] = {}


def register_upload_guard(store: str, guard: UploadGuard) -> None:
    """Have every PUT through a signed upload link of ``store`` checked by ``guard(key)`` first (an app calls this
    from its ``AppConfig.ready()``): a link whose upload was canceled stops working before it expires."""
    _upload_guards[store] = guard


def store_upload_refused(*, store: str, key: str) -> str:
    """Why a valid upload link of ``store`` may not write ``key`` now ("" when it may)."""
    guard = _upload_guards.get(store)
    return guard(key) if guard is not None else ""
