"""A store that cannot be reached or written raises StoreUnavailableError (retriable, a 503), for real: a closed S3
port, a missing bucket, a folder path that is a file, a read-only folder. A missing file stays
StoreFileNotFoundError."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from server.apps.core.errors import ServiceUnavailableError
from server.apps.stores.backends import StoreFileNotFoundError, StoreUnavailableError, is_store_outage
from server.apps.stores.selectors import (
    store_file_exists,
    store_file_list,
    store_file_open,
    store_file_read,
    store_file_size,
)
from server.apps.stores.services import store_file_delete, store_file_save
from server.apps.stores.testing import StoreOutage
from server.apps.worker.actions import Action
from server.apps.worker.policy import is_retriable

KEY = "gateway-1/2024/05/01/status.json"


def test_a_save_during_an_outage_is_unavailable_and_works_once_the_store_is_back(store_outage):
    store_outage.start("status")
    with pytest.raises(StoreUnavailableError) as raised:
        store_file_save(store="status", key=KEY, content=b"{}")
    error = raised.value
    assert error.message == "The file store 'status' is unavailable: the file could not be saved. Try again later."
    assert (error.store, error.status_code, error.retry_after) == ("status", 503, 30)
    assert isinstance(error, ServiceUnavailableError | ConnectionError)
    assert error.__cause__ is not None  # the backend's own error, for the logs
    store_outage.end()
    assert store_file_save(store="status", key=KEY, content=b"{}") == KEY
    assert store_file_read(store="status", key=KEY) == b"{}"


def test_reads_during_an_outage_are_unavailable_not_missing(store_read_outage):
    store_file_save(store="status", key=KEY, content=b"{}")
    store_read_outage.start("status")
    for read in (store_file_read, store_file_size, store_file_open, store_file_exists):
        with pytest.raises(StoreUnavailableError, match="could not be read"):
            read(store="status", key=KEY)
    with pytest.raises(StoreUnavailableError):
        store_file_list(store="status", prefix="gateway-1/")
    if store_read_outage.kind == "s3-bucket-missing":
        store_file_delete(store="status", key=KEY)  # nothing there to delete: S3's 404 is no error
    else:
        with pytest.raises(StoreUnavailableError):
            store_file_delete(store="status", key=KEY)
    store_read_outage.end()
    assert store_file_read(store="status", key=KEY) == b"{}"
    assert store_file_list(store="status", prefix="gateway-1/") == [KEY]


def test_a_read_only_folder_still_reads(folder_stores, settings):
    store_file_save(store="status", key=KEY, content=b"{}")
    outage = StoreOutage("folder-read-only", settings)
    try:
        outage.start("status")
        assert store_file_read(store="status", key=KEY) == b"{}"
        with pytest.raises(StoreFileNotFoundError):
            store_file_read(store="status", key="gateway-1/other.json")
    finally:
        outage.end()


def test_the_worker_retries_an_outage():
    assert is_retriable(Action, StoreUnavailableError("streamer-reports", operation="read"))


@pytest.mark.parametrize("backend", ["folder_stores", "s3_stores"])
def test_missing_files_in_a_healthy_store_stay_not_found(request, backend):
    request.getfixturevalue(backend)
    store_file_save(store="status", key="a.json", content=b"{}")
    for key in ("nothing.json", "a.json/below"):  # below a file: no such file either
        with pytest.raises(StoreFileNotFoundError):
            store_file_read(store="status", key=key)
        assert not store_file_exists(store="status", key=key)
    # A folder store nothing was ever saved to is an empty store, not a missing one.
    with pytest.raises(StoreFileNotFoundError):
        store_file_read(store="events", key="nothing.json")
    assert store_file_list(store="events") == []


def _client_error(status: int, code: str) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


@pytest.mark.parametrize(
    ("status", "code", "outage"),
    [
        (404, "NoSuchBucket", True),
        (403, "AccessDenied", True),
        (403, "InvalidAccessKeyId", True),
        (400, "ExpiredToken", True),
        (500, "InternalError", True),
        (503, "SlowDown", True),
        (404, "NoSuchKey", False),
        (400, "InvalidArgument", False),  # a bad request is a bug, a 500
    ],
)
def test_which_s3_answers_are_outages(status, code, outage):
    assert is_store_outage(_client_error(status, code)) is outage
