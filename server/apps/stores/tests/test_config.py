"""STORE_CONFIGURATION parsing: every known store exists, listed stores move to S3, mistakes are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from server.apps.stores.config import KNOWN_STORES, StoreConfigurationError, parse_store_configuration

DATA_DIR = Path("/data")


def test_without_configuration_every_store_is_a_folder_under_the_data_dir():
    stores = parse_store_configuration("", data_dir=DATA_DIR)
    assert set(stores) == set(KNOWN_STORES)
    assert stores["streamer-reports"] == {"backend": "filesystem", "location": "/data/stores/streamer-reports"}


def test_the_settings_hold_every_known_store():
    assert set(KNOWN_STORES) <= set(settings.STORES)


def test_listed_stores_move_to_s3_and_the_rest_stay_folders():
    entry = {"store_name": "config", "bucket_name": "etablone-test", "region": "eu-west-1", "prefix": "enrollment"}
    raw = json.dumps([entry])
    stores = parse_store_configuration(
        raw,
        data_dir=DATA_DIR,
        endpoint_host_and_port="localhost:9000",
        endpoint_scheme="http",
        access_key="key",
        secret_key="secret",
    )
    assert stores["config"] == {
        "backend": "s3",
        "bucket_name": "etablone-test",
        "region_name": "eu-west-1",
        "location": "enrollment",
        "endpoint_url": "http://localhost:9000",
        "access_key": "key",
        "secret_key": "secret",
    }
    assert stores["status"]["backend"] == "filesystem"


def test_the_custom_endpoint_defaults_to_https_and_aws_needs_none():
    raw = json.dumps([{"store_name": "apps", "bucket_name": "b-1", "region": "eu-west-1", "prefix": "/apps/"}])
    on_custom = parse_store_configuration(raw, data_dir=DATA_DIR, endpoint_host_and_port="minio:9000")
    on_aws = parse_store_configuration(raw, data_dir=DATA_DIR)
    assert on_custom["apps"]["endpoint_url"] == "https://minio:9000"
    assert on_custom["apps"]["location"] == "apps"
    assert on_aws["apps"]["endpoint_url"] is None
    assert on_aws["apps"]["access_key"] is None  # boto3's own credential chain applies


def test_a_single_object_extra_stores_and_folder_entries_are_accepted():
    raw = json.dumps({"store_name": "archives", "path": "/srv/archives"})
    stores = parse_store_configuration(raw, data_dir=DATA_DIR)
    assert stores["archives"] == {"backend": "filesystem", "location": "/srv/archives"}
    assert set(KNOWN_STORES) < set(stores)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ('"config"', "must be a JSON list"),
        ('[{"bucket_name": "b-1"}]', "entry 0 has no store_name"),
        ('[{"store_name": "config", "region": "eu-west-1"}]', "'config' needs a bucket_name"),
    ],
)
def test_mistakes_are_named(raw, message):
    with pytest.raises(StoreConfigurationError, match=message):
        parse_store_configuration(raw, data_dir=DATA_DIR)
