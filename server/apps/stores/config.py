"""Where each store lives, read from the environment when the settings load.

``STORE_CONFIGURATION`` is a JSON list of ``{"store_name", "bucket_name", "region", "prefix"}`` objects. A listed
store lives in that S3 bucket under that prefix; every known store that is not listed stays a folder under
``LOCAL_DATA_DIR/stores/<store_name>/``. An entry may name a ``path`` instead of a bucket to use another folder.

This module imports nothing from Django's app registry, so the settings can call :func:`store_settings`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The stores the platform itself reads and writes; each one always exists.
KNOWN_STORES = (
    "streamer-reports",  # uploaded streamer reports, read by the worker
    "events",  # event payloads attached to stream events
    "config",  # device configuration and enrollment files
    "apps",  # application binaries and update packages
    "incoming",  # command files waiting for devices
    "contents",  # media and documents for devices
    "status",  # status reports and command results from devices
    "delivery",  # files forwarding destinations write for other systems
    "reports",  # generated report files (CSV, XLSX, HTML) and bulk exports
    "uploads",  # files devices upload when asked (log files …)
)

FILESYSTEM = "filesystem"
S3 = "s3"


class StoreConfigurationError(ValueError):
    """``STORE_CONFIGURATION`` cannot be used; the message says which entry and why."""


def _s3_endpoint(host_and_port: str, scheme: str) -> str | None:
    if not host_and_port:
        return None
    if "://" in host_and_port:
        return host_and_port
    return f"{scheme or 'https'}://{host_and_port}"


def parse_store_configuration(
    raw: str,
    *,
    data_dir: Path,
    endpoint_host_and_port: str = "",
    endpoint_scheme: str = "https",
    access_key: str = "",
    secret_key: str = "",
) -> dict[str, dict[str, Any]]:
    """Turn the ``STORE_CONFIGURATION`` text into the ``STORES`` setting: one entry per store name."""
    stores: dict[str, dict[str, Any]] = {
        name: {"backend": FILESYSTEM, "location": str(data_dir / "stores" / name)} for name in KNOWN_STORES
    }
    if not raw.strip():
        return stores
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise StoreConfigurationError(f"STORE_CONFIGURATION is not valid JSON: {exc}") from exc
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise StoreConfigurationError("STORE_CONFIGURATION must be a JSON list of store objects")
    endpoint_url = _s3_endpoint(endpoint_host_and_port, endpoint_scheme)
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not str(entry.get("store_name") or "").strip():
            raise StoreConfigurationError(f"STORE_CONFIGURATION entry {position} has no store_name")
        name = str(entry["store_name"]).strip()
        if entry.get("bucket_name"):
            stores[name] = {
                "backend": S3,
                "bucket_name": str(entry["bucket_name"]),
                "region_name": str(entry.get("region") or "") or None,
                "location": str(entry.get("prefix") or "").strip("/"),
                "endpoint_url": endpoint_url,
                "access_key": access_key or None,
                "secret_key": secret_key or None,
            }
        elif entry.get("path"):
            stores[name] = {"backend": FILESYSTEM, "location": str(entry["path"])}
        else:
            raise StoreConfigurationError(f"STORE_CONFIGURATION entry {name!r} needs a bucket_name (or a path)")
    return stores


def store_settings(env: Any, data_dir: Path) -> dict[str, dict[str, Any]]:
    """Build the ``STORES`` setting from the environment (``env`` is a django-environ ``Env``)."""
    return parse_store_configuration(
        env.str("STORE_CONFIGURATION", default=""),
        data_dir=data_dir,
        endpoint_host_and_port=env.str("S3_STORE_CUSTOM_HOSTANDPORT_ENDPOINT", default=""),
        endpoint_scheme=env.str("S3_STORE_CUSTOM_HTTP_SCHEME", default="https"),
        access_key=env.str("AWS_ACCESS_KEY_ID", default=""),
        secret_key=env.str("AWS_SECRET_ACCESS_KEY", default=""),
    )
