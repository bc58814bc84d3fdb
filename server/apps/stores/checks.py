"""System checks for the store configuration."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from server.apps.stores.config import FILESYSTEM, KNOWN_STORES, S3


@checks.register(checks.Tags.compatibility, deploy=True)
def check_stores_share_one_backend(app_configs, **kwargs):
    """With some stores on S3, the rest on local folders are invisible to the other web and worker hosts."""
    stores = settings.STORES
    if not any(config["backend"] == S3 for config in stores.values()):
        return []
    local = [name for name in KNOWN_STORES if stores[name]["backend"] == FILESYSTEM]
    if not local:
        return []
    return [
        checks.Warning(
            f"stores {', '.join(local)} are local folders while others are on S3",
            hint="List every store in STORE_CONFIGURATION when several hosts run the platform.",
            id="stores.W001",
        )
    ]
