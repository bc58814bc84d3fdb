"""A virtual IOTile device for iotile-core's hardware manager, enough for the real ``ota_updater`` and
``device_updater`` apps: it answers the controller's info RPC and the remote-bridge RPCs that load and run an update
script, and applies the script's set-version records, as a device's firmware would."""

from __future__ import annotations

from iotile.core.hw.update import UpdateScript
from iotile.core.hw.update.records.set_version import SetDeviceTagRecord
from iotile.core.hw.virtual.common_types import rpc
from iotile.core.hw.virtual.virtualdevice_simple import SimpleVirtualDevice

IDLE, RECEIVING, RECEIVED = 0, 2, 3


def version_info(tag: int, version: str) -> int:
    """``tag | minor << 20 | major << 26``: how the controller, and the 0x5c08/0x5c09 streams, give a version."""
    major, minor = (int(part) for part in version.split("."))
    return tag | (minor << 20) | (major << 26)


class UpdatableDevice(SimpleVirtualDevice):
    __NO_EXTENSION__ = True

    def __init__(self, device_id: int, *, os_info: int, app_info: int) -> None:
        super().__init__(device_id, "OTAdev")
        self.os_info = os_info
        self.app_info = app_info
        self.bridge_status = IDLE
        self.applied: list[object] = []

    @rpc(8, 0x1008, "", "L8xLL")
    def controller_info(self):
        return [self.iotile_id, self.os_info, self.app_info]

    @rpc(8, 0x0001, "", "")
    def reset(self):
        return []

    @rpc(8, 0x2100, "", "L")
    def begin_script(self):
        self.script = bytearray()
        self.bridge_status = RECEIVING
        return [0]

    @rpc(8, 0x2102, "", "L")
    def end_script(self):
        self.bridge_status = RECEIVED
        return [0]

    @rpc(8, 0x2103, "", "L")
    def trigger_script(self):
        for record in UpdateScript.FromBinary(bytes(self.script)).records:
            if isinstance(record, SetDeviceTagRecord):
                if record.update_os:
                    self.os_info = version_info(record.os_tag, record.os_version)
                if record.update_app:
                    self.app_info = version_info(record.app_tag, record.app_version)
            self.applied.append(record)
        self.bridge_status = IDLE
        return [0]

    @rpc(8, 0x2104, "", "LL")
    def query_status(self):
        return [self.bridge_status, 0]

    @rpc(8, 0x2105, "", "L")
    def reset_script(self):
        self.script = bytearray()
        self.bridge_status = IDLE
        return [0]
