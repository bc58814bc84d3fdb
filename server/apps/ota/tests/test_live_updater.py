"""The real ``iotile-ext-cloud`` against a live server: ``IOTileCloud.get_fleet`` and ``get_whitelist`` read
fleets, and the ``ota_updater`` app, connected to a virtual device through iotile-core's hardware manager, finds
its deployment, downloads the script without credentials (a signed link on folder stores, presigned on S3), runs it
on the device and reports the attempt. The device then reports its new app version in a streamer report, and that
confirms the deployment (iotile_clients.md §5 and §7, rows 16, 17, 25)."""

from __future__ import annotations

import datetime

import pytest
from iotile.cloud.cloud import IOTileCloud
from iotile.cloud.config import link_cloud
from iotile.core.dev.config import ConfigManager
from iotile.core.exceptions import ExternalError
from iotile.core.hw.hwmanager import HardwareManager
from iotile.core.hw.reports import IOTileReading, SignedListReport
from iotile.core.hw.transport.virtualadapter import VirtualDeviceAdapter

from server.apps.core.testing import make_member
from server.apps.device.tests.factories import make_device
from server.apps.fleet.tests.factories import make_fleet
from server.apps.org.roles import DEVELOPER
from server.apps.ota.models import DeploymentAction, DeviceVersionAttribute
from server.apps.ota.tests.factories import APP_TAG, make_deployment, make_script
from server.apps.ota.tests.virtual_device import UpdatableDevice, version_info
from server.apps.streamer.tests.factories import make_ingest, process
from server.apps.streamer.tests.test_live_client import iotile_registry  # noqa: F401 (a fixture)

PASSWORD = "live-pass-word-123"
EMAIL = "updater@example.com"
OS_TAG = 1024


def _linked_cloud(live_server) -> IOTileCloud:
    config = ConfigManager()
    config.set("cloud:server", live_server.url)
    link_cloud(config, EMAIL, PASSWORD)
    return IOTileCloud()


@pytest.mark.live
def test_get_fleet_and_whitelist(live_server, iotile_registry):  # noqa: F811
    ingest = make_ingest()
    org = ingest.project.org
    make_member(org, DEVELOPER, email=EMAIL, password=PASSWORD)
    gateway = ingest.device
    sensors = [make_device(ingest.project, id=gateway.id + 0x100000 + i) for i in range(2)]
    network = make_fleet(
        org, "Barn network", is_network=True, devices=[(gateway, True, True), sensors[0], (sensors[1], False, True)]
    )
    make_fleet(org, "Not a network", devices=[gateway, make_device(ingest.project, id=gateway.id + 0x100002)])
    cloud = _linked_cloud(live_server)

    assert cloud.get_fleet(network.id) == {
        gateway.slug: {"is_access_point": True, "always_on": True},
        sensors[0].slug: {"is_access_point": False, "always_on": False},
        sensors[1].slug: {"is_access_point": False, "always_on": True},
    }
    # The gateway manages the other members of its network fleets only.
    assert cloud.get_whitelist(gateway.id) == {
        sensors[0].slug: {"is_access_point": False, "always_on": False},
        sensors[1].slug: {"is_access_point": False, "always_on": True},
    }
    # A member that is no access point manages nobody.
    with pytest.raises(ExternalError):
        cloud.get_whitelist(sensors[0].id)
    # Another organisation's fleet reads as missing.
    other = make_fleet(make_ingest().project.org)
    with pytest.raises(Exception, match="does not exist"):
        cloud.get_fleet(other.id)


@pytest.mark.live
@pytest.mark.parametrize(
    ("stores", "credential"), [("folder_stores", "user"), ("s3_stores", "user"), ("folder_stores", "device")]
)
def test_ota_updater_applies_and_the_device_confirms(
    live_server,
    iotile_registry,  # noqa: F811
    stores,
    credential,
    request,
):
    """The updater with the user's token, or with the device's own (``impersonate_device``), as a gateway acting
    for the device runs it."""
    request.getfixturevalue(stores)
    ingest = make_ingest()
    org = ingest.project.org
    developer = make_member(org, DEVELOPER, email=EMAIL, password=PASSWORD)
    device = ingest.device
    fleet = make_fleet(org, "Updaters", devices=[device], user=developer)
    script = make_script(org, version="2.1.0", user=developer)
    deployment = make_deployment(
        script,
        fleet,
        user=developer,
        selection_criteria=[f"os_tag:eq:{OS_TAG}", f"app_tag:eq:{APP_TAG}", "app_version:lt:2.1"],
        side_effect={"app_tag": APP_TAG, "app_version": "2.1"},
    )
    cloud = _linked_cloud(live_server)
    if credential == "device":
        cloud.impersonate_device(device.id)

    virtual = UpdatableDevice(device.id, os_info=version_info(OS_TAG, "1.0"), app_info=version_info(APP_TAG, "2.0"))
    hw = HardwareManager(adapter=VirtualDeviceAdapter(devices=[virtual]))
    try:
        hw.connect(device.id)
        updater = hw.app(name="ota_updater")
        updater.check_and_update()
        assert virtual.app_info == version_info(APP_TAG, "2.1"), "the script ran on the device"

        action = DeploymentAction.objects.get(deployment=deployment, device=device)
        assert (action.attempts, action.attempt_successful, action.device_confirmation) == (1, True, False)
        assert action.last_attempt_on is not None

        # Applied: the updater finds nothing more to do, and the device's criteria no longer match anyway.
        assert updater.check_cloud_for_script() is False
    finally:
        hw.close()

    # The device reports its new version on its app version stream; the worker confirms the deployment.
    report = SignedListReport.FromReadings(
        device.id,
        [
            IOTileReading(10, 0x5C09, virtual.app_info, reading_id=1),
            IOTileReading(10, 0x5C08, virtual.os_info, reading_id=2),
        ],
        report_id=3,
        selector=0x5FFF,
        streamer=1,
        sent_timestamp=20,
    )
    report.received_time = datetime.datetime.utcnow().replace(microsecond=0)
    assert cloud.upload_report(report) == 2
    assert process().succeeded == 2  # the report, then the versions it carried

    versions = {v.type: (v.tag, v.version, v.streamer_local_id) for v in DeviceVersionAttribute.objects.all()}
    assert versions == {"app": (APP_TAG, "2.1", 1), "os": (OS_TAG, "1.0", 2)}
    action.refresh_from_db()
    assert action.device_confirmation is True
    deployment.refresh_from_db()
    assert deployment.completed_on is not None, "its only device confirmed"
