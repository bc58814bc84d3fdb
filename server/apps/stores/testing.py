"""Store fixtures for any app's tests (loaded as a pytest plugin by the root conftest).

* ``folder_stores``: every store is a folder under the test's ``tmp_path``; returns the ``STORES`` setting.
* ``s3_stores``: every store lives in a fresh bucket of the session's ``moto_server``, each under its own prefix,
  reached through the ``S3_STORE_CUSTOM_*`` endpoint variables as in production; returns the bucket name.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from server.apps.stores.config import KNOWN_STORES, parse_store_configuration


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
