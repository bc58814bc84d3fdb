"""Store fixtures for any app's tests (loaded as a pytest plugin by the root conftest).

* ``folder_stores``: every store is a folder under the test's ``tmp_path``; returns the ``STORES`` setting.
* ``s3_stores``: every store lives in a fresh bucket of the session's ``moto_server``, each under its own prefix,
  reached through the ``S3_STORE_CUSTOM_*`` endpoint variables as in production; returns the bucket name.
* ``store_outage`` (parametrised over :data:`OUTAGES`): a :class:`StoreOutage` that really breaks one store and
  mends it; the stores are on S3 or in folders to suit. ``store_read_outage``: the outages that stop reads too.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.apps.core.testing_aws import _free_port
from server.apps.stores.config import KNOWN_STORES, parse_store_configuration

# How a store goes out: its S3 endpoint stops answering (a closed port), its bucket is missing, the path of its folder
# is a file, its folder is read-only (reads still work there).
OUTAGES = ("s3-endpoint-down", "s3-bucket-missing", "folder-is-a-file", "folder-read-only")


@pytest.fixture
def folder_stores(settings, tmp_path) -> dict[str, dict[str, Any]]:
    settings.STORES = parse_store_configuration("", data_dir=tmp_path)
    return settings.STORES


@pytest.fixture
def s3_stores(settings, tmp_path, moto_server) -> str:
    bucket = f"stores-{uuid.uuid4().hex[:12]}"
    moto_server.client("s3").create_bucket(Bucket=bucket)
    host_and_port = moto_server.endpoint_url.split("://", 1)[1]
    configuration = [
        {"store_name": name, "bucket_name": bucket, "region": moto_server.region, "prefix": f"test/{name}"}
        for name in KNOWN_STORES
    ]
    settings.STORES = parse_store_configuration(
        json.dumps(configuration),
        data_dir=tmp_path,
        endpoint_host_and_port=host_and_port,
        endpoint_scheme="http",
        access_key=moto_server.access_key,
        secret_key=moto_server.secret_key,
    )
    return bucket


class StoreOutage:
    """Takes one store out for real (``start``) and brings it back as it was (``end``)."""

    def __init__(self, kind: str, settings) -> None:
        self.kind = kind
        self.settings = settings
        self.store: str | None = None
        self._config: dict[str, Any] = {}
        self._made_immutable = False

    def start(self, store: str) -> None:
        assert self.store is None, "one outage at a time"
        self.store, self._config = store, self.settings.STORES[store]
        config = dict(self._config)
        if self.kind == "s3-endpoint-down":
            config["endpoint_url"] = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
        elif self.kind == "s3-bucket-missing":
            config["bucket_name"] = f"missing-{uuid.uuid4().hex[:12]}"
        elif self.kind == "folder-is-a-file":
            folder = Path(config["location"])
            if folder.exists():
                folder.rename(self._aside)
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.write_bytes(b"not a folder")
        elif self.kind == "folder-read-only":
            folder = Path(config["location"])
            folder.mkdir(parents=True, exist_ok=True)
            self._set_mode(folder, stat.S_IRUSR | stat.S_IXUSR)
            if os.access(folder, os.W_OK) and not self._immutable(folder, True):  # root ignores the mode
                self.end()
                pytest.skip("folder permissions do not bind this user (root) and chattr +i is not available")
        # A new STORES setting drops the cached storages.
        self.settings.STORES = {**self.settings.STORES, store: config}

    def end(self) -> None:
        if self.store is None:
            return
        if self.kind == "folder-is-a-file":
            folder = Path(self._config["location"])
            folder.unlink()
            if self._aside.exists():
                self._aside.rename(folder)
        elif self.kind == "folder-read-only":
            folder = Path(self._config["location"])
            if self._made_immutable:
                self._immutable(folder, False)
            self._set_mode(folder, stat.S_IRWXU)
        self.settings.STORES = {**self.settings.STORES, self.store: self._config}
        self.store = None

    @staticmethod
    def _set_mode(folder: Path, mode: int) -> None:
        """The folder and every folder in it, as on a read-only volume."""
        for directory, _subdirectories, _files in os.walk(folder):
            os.chmod(directory, mode)

    def _immutable(self, folder: Path, on: bool) -> bool:
        """Root writes into a folder whatever its mode, but not into an immutable one (Linux, ext4 and the like)."""
        command = shutil.which("chattr")
        if command is None:
            return False
        arguments = [command, "-R", "+i" if on else "-i", str(folder)]
        done = subprocess.run(arguments, capture_output=True).returncode == 0
        self._made_immutable = on and done
        return done

    @property
    def _aside(self) -> Path:
        return Path(f"{self._config['location']}.aside")


def _outage(request, settings) -> Iterator[StoreOutage]:
    request.getfixturevalue("s3_stores" if request.param.startswith("s3-") else "folder_stores")
    outage = StoreOutage(request.param, settings)
    yield outage
    outage.end()  # a folder left read-only would stop tmp_path's cleanup


@pytest.fixture(params=OUTAGES)
def store_outage(request, settings) -> Iterator[StoreOutage]:
    yield from _outage(request, settings)


@pytest.fixture(params=[kind for kind in OUTAGES if kind != "folder-read-only"])
def store_read_outage(request, settings) -> Iterator[StoreOutage]:
    """The outages that stop reads too."""
    yield from _outage(request, settings)
