"""Writes to the named stores. Callers that also write database rows save the file first (a file without a row is
harmless and can be cleaned up; a row without its file is not). A store that cannot be reached or written raises
``StoreUnavailableError`` (a 503 in the API, retried by the worker)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO

from django.core.files.base import ContentFile, File

from server.apps.stores.backends import (
    StoreFileNotFoundError,
    clean_key,
    get_store,
    store_outage_as_unavailable,
)
from server.apps.stores.selectors import store_key_of_s3_object


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


# store name -> what to call with the keys of the objects created in it, as S3 event notifications tell them.
StoreWatcher = Callable[[list[str]], object]
_watchers: dict[str, list[StoreWatcher]] = {}


def register_store_watch(store: str, watcher: StoreWatcher) -> None:
    """Have ``watcher(keys)`` called with the keys of new objects in ``store`` when its bucket's S3 event notifications
    reach the worker's queue (an app calls this from its ``jobs.py``). Polling the store stays the app's own
    affair: notifications only make it sooner."""
    if watcher not in _watchers.setdefault(store, []):
        _watchers[store].append(watcher)


def store_objects_created(*, objects: Sequence[tuple[str, str]]) -> int:
    """Hand the objects an S3 notification names (``(bucket, key)``) to the watchers of their stores; objects of no
    store, or of a store nobody watches, are skipped. Returns how many objects were handed over."""
    keys: dict[str, list[str]] = {}
    for bucket, key in objects:
        found = store_key_of_s3_object(bucket=bucket, key=key)
        if found is not None and found[0] in _watchers:
            keys.setdefault(found[0], []).append(found[1])
    for store, store_keys in keys.items():
        for watcher in _watchers[store]:
            watcher(store_keys)
    return sum(len(each) for each in keys.values())
