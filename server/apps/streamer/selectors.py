"""Reads on streamers and streamer reports, already scoped to a user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet, Value

from server.apps.core.compiled import CompiledQuery, instance_from_columns
from server.apps.core.scoping import member_org_ids, permission_for, token_scope, user_has_org_permission
from server.apps.core.slugs import parse_streamer_slug
from server.apps.device.models import Device
from server.apps.streamer.models import Streamer, StreamerReport


def streamer_list(*, user) -> QuerySet[Streamer]:
    return Streamer.objects.restrict(user, "view").select_related("device")


def streamer_lookup(value: str) -> dict:
    """Filter keywords for a ``t--`` slug in any form the clients send (the oversized device group included);
    raises ``SlugError``."""
    device_id, index = parse_streamer_slug(value)
    return {"device_id": device_id, "index": index}


def streamer_report_list(*, user) -> QuerySet[StreamerReport]:
    return StreamerReport.objects.restrict(user, "view").select_related("streamer__device", "created_by")


@dataclass(frozen=True)
class UploadDevice:
    """The device a report names, with whether the uploader sees it and may upload its data."""

    device: Device
    visible: bool
    may_upload: bool


# Whoever may add a streamer report in the device's organisation may upload its reports.
def _upload_permission() -> str | None:
    return permission_for(StreamerReport, "add")


def _upload_device_query(*, staff: bool) -> CompiledQuery:
    def build(user_id: int, device_id: int) -> QuerySet:
        uploader = get_user_model()(pk=user_id, is_staff=staff, is_active=True)
        visible = Device.objects.restrict(uploader, "view").filter(pk=OuterRef("pk"))
        may_upload = (
            Value(True)
            if staff
            else Exists(member_org_ids(uploader, _upload_permission()).filter(org_id=OuterRef("org_id")))
        )
        columns = [field.attname for field in Device._meta.concrete_fields]
        found = Device.objects.filter(id=device_id).annotate(visible=Exists(visible), may_upload=may_upload)
        return found.values_list(*columns, "visible", "may_upload")

    return CompiledQuery(build, user_id=int, device_id=int)


# The SQL differs between staff (every device, every organisation) and members: one compiled query each.
_UPLOAD_DEVICE = {staff: _upload_device_query(staff=staff) for staff in (False, True)}


def device_for_upload(*, user, device_id: int) -> UploadDevice | None:
    """The device ``device_id`` (None if there is none), whether ``user`` sees it, and whether ``user`` may upload
    its reports (``can_create_stream_data`` in its organisation). One query, compiled once per kind of account
    (core/compiled.py): every upload starts with it. A narrowed credential (a device token) takes the ORM path."""
    if not (user.is_authenticated and user.is_active) or token_scope(user) is not None:
        visible = Device.objects.restrict(user, "view").filter(pk=OuterRef("pk"))
        device = Device.objects.filter(id=device_id).annotate(visible=Exists(visible)).first()
        if device is None:
            return None
        may_upload = device.visible and user_has_org_permission(user, device.org, _upload_permission())
        return UploadDevice(device, device.visible, may_upload)
    rows = _UPLOAD_DEVICE[bool(user.is_staff)].rows(user_id=user.pk, device_id=device_id)
    if not rows:
        return None
    *values, visible, may_upload = rows[0]
    columns: dict[str, Any] = {
        field.attname: value for field, value in zip(Device._meta.concrete_fields, values, strict=True)
    }
    return UploadDevice(instance_from_columns(Device, Device.objects.db, columns), visible, may_upload)
