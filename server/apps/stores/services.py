"""Writes to the named stores. Callers that also write database rows save the file first (a file without a row is
harmless and can be cleaned up; a row without its file is not). A store that cannot be reached or written raises
``StoreUnavailableError`` (a 503 in the API, retried by the worker)."""

from __future__ import annotations

from typing import IO

from django.core.files.base import ContentFile, File

from server.apps.stores.backends import (
    StoreFileNotFoundError,
    clean_key,
    get_store,
    store_outage_as_unavailable,
)


def store_file_save(
    *, store: str, key: str, content: bytes | bytearray | memoryview | IO[bytes], content_type: str | None = None
) -> str:
    """Save ``content`` (bytes, or an open binary file read from its start in chunks, for files too big to hold)
    at ``key`` in ``store``, replacing any file already there. Returns the key."""
    clean_key(key)
    name = key.rsplit("/", 1)[-1]
    if isinstance(content, bytes | bytearray | memoryview):
        file: File[bytes] = ContentFile(bytes(content))
    else:
        file = File(content, name=name)
    if content_type:
        # S3 stores it as the object's Content-Type; Django's files have no such attribute of their own.
        file.content_type = content_type  # type: ignore[attr-defined]
    storage = get_store(store)
    with store_outage_as_unavailable(store, operation="saved"):
        saved = storage.save(key, file)
    return saved.replace("\\", "/")


def store_file_delete(*, store: str, key: str, missing_ok: bool = True) -> None:
    """Delete the file at ``key``; a missing file is fine unless ``missing_ok`` is false."""
    clean_key(key)
    storage = get_store(store)
    with store_outage_as_unavailable(store, operation="deleted"):
        if not missing_ok and not storage.exists(key):
            raise StoreFileNotFoundError(f"no file {key!r} in store {store!r}", extra={"store": store, "key": key})
        storage.delete(key)
