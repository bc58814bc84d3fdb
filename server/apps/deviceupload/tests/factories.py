"""Uploads made through the real services, as a device asks for them."""

from __future__ import annotations

import hashlib

from server.apps.deviceupload.services import upload_requests_record, upload_schedule_create
from server.apps.deviceupload.wire import UploadRequest
from server.apps.operation.models import Transport
from server.apps.operation.tests.factories import make_operation

LOG = b"2026-12-06T22:00:00Z boot\n"


def make_trigger(device, transport: str = "http"):
    return make_operation(device, kind="upload", payload={"options": {"info.reason": "support"}}, transport=transport)


def make_upload(device, *, name: str = "device.log", content: bytes = LOG, number: int = 1, trigger=None):
    trigger = trigger or make_trigger(device)
    request = UploadRequest(
        correlation_id=f"{trigger.id}#{number}",
        trigger_id=trigger.id,
        name=name,
        checksum=f"sha256:{hashlib.sha256(content).hexdigest()}",
        info={},
    )
    (upload,) = upload_requests_record(
        requests=[(device.pk, device.org_id, request)], transport=Transport.HTTP, base_url="http://testserver"
    )
    return upload


def make_schedule(*, device=None, fleet=None, every_hours: int = 6, files: str = "*.log", user=None):
    org = (device or fleet).org
    return upload_schedule_create(
        user=user or org.created_by, device=device, fleet=fleet, every_hours=every_hours, files=files
    )
