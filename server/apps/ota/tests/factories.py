"""Scripts and deployments for the tests, made through the real services."""

from __future__ import annotations

from django.utils import timezone
from iotile.core.hw.update import UpdateScript
from iotile.core.hw.update.records.set_version import SetDeviceTagRecord

from server.apps.fleet.tests.factories import ota_manager
from server.apps.ota.services import deployment_create, script_create

APP_TAG = 2049


def update_script_bytes(app_version: str = "2.1", app_tag: int = APP_TAG) -> bytes:
    """A real TRUB update script that sets the device's app tag and version."""
    return UpdateScript([SetDeviceTagRecord(app_tag=app_tag, app_version=app_version)]).encode()


def make_script(org, name: str = "Firmware", version: str | None = None, content: bytes | None = None, user=None):
    user = user or ota_manager(org)
    version = version or f"2.1.{org.device_scripts.count()}"
    return script_create(
        user=user,
        org=org,
        name=name,
        version=version,
        content=content or update_script_bytes(),
        file_name="update.trub",
    )


def make_deployment(script, fleet=None, *, released: bool = True, user=None, **fields):
    user = user or ota_manager(script.org)
    return deployment_create(
        user=user, script=script, fleet=fleet, released_on=timezone.now() if released else None, **fields
    )
