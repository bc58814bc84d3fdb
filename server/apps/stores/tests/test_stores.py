"""The store helpers behave the same on folders and on S3 (a real moto_server bucket)."""

from __future__ import annotations

import urllib.request

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.stores.backends import (
    InvalidStoreKeyError,
    StoreFileNotFoundError,
    UnknownStoreError,
    get_store,
)
from server.apps.stores.selectors import (
    store_file_exists,
    store_file_list,
    store_file_open,
    store_file_read,
    store_file_size,
    store_file_url,
)
from server.apps.stores.services import store_file_delete, store_file_save


@pytest.fixture(params=["folder", "s3"])
def backend(request) -> str:
    request.getfixturevalue("folder_stores" if request.param == "folder" else "s3_stores")
    return request.param


def test_save_read_and_overwrite(backend):
    key = "t--0000-0000-0000-0002--0000-0000-0000-0001/2024/01/02/03/report.bin"
    assert store_file_save(store="streamer-reports", key=key, content=b"\x01\x02") == key
    assert store_file_read(store="streamer-reports", key=key) == b"\x01\x02"
    assert store_file_save(store="streamer-reports", key=key, content=b"second") == key
    assert store_file_read(store="streamer-reports", key=key) == b"second"
    assert store_file_size(store="streamer-reports", key=key) == 6
    with store_file_open(store="streamer-reports", key=key) as file:
        assert file.read(3) == b"sec"


def test_exists_and_delete(backend):
    store_file_save(store="incoming", key="gateway/commands.json", content=b"[]")
    assert store_file_exists(store="incoming", key="gateway/commands.json")
    assert not store_file_exists(store="incoming", key="gateway")  # a folder is not a file
    store_file_delete(store="incoming", key="gateway/commands.json")
    assert not store_file_exists(store="incoming", key="gateway/commands.json")
    store_file_delete(store="incoming", key="gateway/commands.json")  # already gone: fine
    with pytest.raises(StoreFileNotFoundError):
        store_file_delete(store="incoming", key="gateway/commands.json", missing_ok=False)


def test_a_missing_file_is_not_found(backend):
    with pytest.raises(StoreFileNotFoundError) as raised:
        store_file_read(store="status", key="nobody/last_monitoring_status.json")
    assert isinstance(raised.value, NotFoundError)
    with pytest.raises(StoreFileNotFoundError):
        store_file_size(store="status", key="nobody/last_monitoring_status.json")


def test_list_by_text_prefix(backend):
    for key in ("a/one.json", "a/two.json", "a/sub/three.json", "ab.json", "b/four.json"):
        store_file_save(store="status", key=key, content=b"{}")
    store_file_save(store="events", key="a/elsewhere.json", content=b"{}")  # another store
    assert store_file_list(store="status", prefix="a/") == ["a/one.json", "a/sub/three.json", "a/two.json"]
    assert store_file_list(store="status", prefix="a") == ["a/one.json", "a/sub/three.json", "a/two.json", "ab.json"]
    assert store_file_list(store="status", prefix="a/t") == ["a/two.json"]
    assert len(store_file_list(store="status")) == 5
    assert store_file_list(store="status", prefix="missing/") == []


def test_stores_are_separate(backend):
    store_file_save(store="config", key="device.json", content=b"config")
    store_file_save(store="apps", key="device.json", content=b"apps")
    assert store_file_read(store="config", key="device.json") == b"config"
    assert store_file_read(store="apps", key="device.json") == b"apps"


@pytest.mark.parametrize("key", ["", "/absolute", "a/../b", "../up", "a//b", "folder/", "a\\b", "./a"])
def test_unsafe_keys_are_refused(folder_stores, key):
    with pytest.raises(InvalidStoreKeyError) as raised:
        store_file_save(store="config", key=key, content=b"x")
    assert isinstance(raised.value, ApplicationError)


def test_an_unknown_store_is_a_clear_error(folder_stores):
    with pytest.raises(UnknownStoreError, match=r"unknown store 'nope'.*streamer-reports"):
        get_store("nope")


def test_stores_are_cached_until_the_setting_changes(folder_stores, settings, tmp_path):
    store = get_store("config")
    assert get_store("config") is store
    settings.STORES = {**settings.STORES, "config": {"backend": "filesystem", "location": str(tmp_path / "other")}}
    assert get_store("config") is not store


def test_folders_live_under_the_configured_location(folder_stores, tmp_path):
    store_file_save(store="contents", key="media/image.png", content=b"png")
    assert (tmp_path / "stores" / "contents" / "media" / "image.png").read_bytes() == b"png"
    assert store_file_url(store="contents", key="media/image.png").startswith("/stores/files/")


def test_an_open_file_is_saved_in_chunks(backend, tmp_path):
    content = bytes(range(256)) * 20_000  # 5 MB: more than one chunk, and an S3 multipart upload
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    with path.open("rb") as file:
        assert store_file_save(store="reports", key="org/big.bin", content=file) == "org/big.bin"
    assert store_file_read(store="reports", key="org/big.bin") == content


def test_s3_objects_sit_under_the_prefix_with_their_content_type(s3_stores, moto_server):
    store_file_save(store="events", key="e/1.json", content=b'{"a": 1}', content_type="application/json")
    head = moto_server.client("s3").head_object(Bucket=s3_stores, Key="test/events/e/1.json")
    assert head["ContentType"] == "application/json"
    assert head["ContentLength"] == 8


def test_s3_presigned_urls_download_the_file(s3_stores):
    store_file_save(store="apps", key="pkg/app-1.0.tar", content=b"binary")
    url = store_file_url(store="apps", key="pkg/app-1.0.tar", expires=60)
    assert "Signature" in url or "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"binary"


def test_deploy_check_warns_when_only_some_stores_are_on_s3(s3_stores, settings):
    call_command("check", "--deploy", "--tag", "compatibility")  # all on S3: clean
    settings.STORES = {**settings.STORES, "status": {"backend": "filesystem", "location": "/tmp/status"}}
    with pytest.raises(SystemCheckError, match=r"stores\.W001"):
        call_command("check", "--deploy", "--tag", "compatibility", "--fail-level", "WARNING")
