"""Named stores as Django storages, built once per process from the ``STORES`` setting."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeGuard

from boto3.exceptions import S3UploadFailedError
from botocore import exceptions as botocore_errors
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.core.signals import setting_changed
from storages.backends.s3 import S3Storage

from server.apps.core.errors import ApplicationError, NotFoundError, ServiceUnavailableError
from server.apps.stores.config import FILESYSTEM, S3

_stores: dict[str, Storage] = {}
_lock = threading.Lock()


class UnknownStoreError(NotFoundError):
    """The name is neither a known store nor one ``STORE_CONFIGURATION`` adds."""


class InvalidStoreKeyError(ApplicationError):
    """A key must be a relative path of non-empty parts, without ``..``, backslashes or a trailing slash."""


class StoreFileNotFoundError(NotFoundError):
    """No file at that key in that store."""


class StoreUnavailableError(ServiceUnavailableError):
    """The store cannot be reached or used now: the S3 endpoint does not answer, the bucket is missing, the
    credentials are refused, the folder cannot be written. The file was not saved (or read); the same call may
    succeed later. The API answers 503, the worker retries (a ``ConnectionError``). The cause is chained."""

    def __init__(self, store: str, *, operation: str = "used") -> None:
        message = f"The file store {store!r} is unavailable: the file could not be {operation}. Try again later."
        super().__init__(message)
        self.store = store


# Failures of the S3 service itself rather than of the request: the endpoint, the bucket, the credentials.
_S3_OUTAGE_ERRORS = (
    botocore_errors.ConnectionError,  # the endpoint cannot be reached: refused, DNS, proxy, TLS, connect timeout
    botocore_errors.HTTPClientError,  # the connection broke or timed out mid-request
    botocore_errors.NoCredentialsError,
    botocore_errors.PartialCredentialsError,
    botocore_errors.CredentialRetrievalError,
    S3UploadFailedError,
)
# Besides 401, 403 and 5xx (refused credentials, throttling, server errors).
_S3_OUTAGE_CODES = {"NoSuchBucket", "RequestTimeout", "ExpiredToken"}
# A read that finds nothing at a key; anything else a folder store raises is an outage.
MISSING_FILE_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


def is_store_outage(error: BaseException) -> bool:
    """Whether ``error`` means the store cannot be used now (worth a later retry), rather than a bad request."""
    if isinstance(error, botocore_errors.ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        code = error.response.get("Error", {}).get("Code", "")
        return status in (401, 403) or status >= 500 or code in _S3_OUTAGE_CODES
    # OSError: a folder that is read-only, full or not a folder; a socket error.
    return isinstance(error, (*_S3_OUTAGE_ERRORS, OSError))


@contextmanager
def store_outage_as_unavailable(
    store: str, *, operation: str = "used", passing: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Raise :class:`StoreUnavailableError` for an outage of ``store`` inside the block (``operation`` says what
    could not be done with the file: "saved", "read"…). Errors in ``passing`` (a read's missing file) go through
    for the caller to judge, as do errors that are not outages."""
    try:
        yield
    except StoreUnavailableError:
        raise
    except passing:
        raise
    except Exception as exc:
        if is_store_outage(exc):
            raise StoreUnavailableError(store, operation=operation) from exc
        raise


def store_is_missing(storage: Storage) -> bool:
    """Whether the store itself is gone (its bucket does not exist, its folder path is a file), so that a file it
    does not find says nothing about the file. A folder that was never created is an empty store."""
    if isinstance(storage, FileSystemStorage):
        root = storage.location
        return os.path.lexists(root) and not os.path.isdir(root)
    if not is_s3(storage):
        raise TypeError(f"a store is a folder or an S3 bucket, not a {type(storage).__name__}")
    try:
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
    except Exception as exc:
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404 or is_store_outage(exc):
            return True
        raise
    return False


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


def is_s3(store: Storage) -> TypeGuard[S3Storage]:
    return isinstance(store, S3Storage)


def clear_store_cache(**kwargs: Any) -> None:
    if kwargs.get("setting") in (None, "STORES"):
        _stores.clear()


setting_changed.connect(clear_store_cache, dispatch_uid="stores.clear_store_cache")
