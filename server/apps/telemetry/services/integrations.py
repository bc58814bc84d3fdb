"""The Things Stack integrations: the webhook's secret, and an uplink turned into telemetry of the device found by
its ``dev_eui`` (made, unmapped, when it is new)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from server.apps.core.errors import PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.device.services import device_create_in_project
from server.apps.telemetry.models import PhysicalDevice, RawMessageSource, TtnIntegration
from server.apps.telemetry.services.ingest import DeviceRef, Inbound, Outcome, telemetry_messages_ingest
from server.apps.telemetry.wire import BodyError, Telemetry, Uplink, uplink_read

TTN_SOURCE = RawMessageSource.TTN


@transaction.atomic(durable=True)
def integration_create(*, user: Any, project: Any, name: str) -> TtnIntegration:
    if not user_has_org_permission(user, project.org, permission_for(TtnIntegration, "add")):
        raise PermissionDeniedError("You may not add integrations in this organisation.")
    return TtnIntegration.objects.create(org_id=project.org_id, project=project, name=name, created_by=user)


@transaction.atomic(durable=True)
def integration_delete(*, user: Any, integration: TtnIntegration) -> None:
    if not user_has_org_permission(user, integration.org, permission_for(TtnIntegration, "delete")):
        raise PermissionDeniedError("You may not remove integrations in this organisation.")
    integration.delete()


def integration_authenticate(*, integration_id: uuid.UUID, secret: str) -> TtnIntegration | None:
    """The integration, when ``secret`` is its own (compared in constant time)."""
    integration = TtnIntegration.objects.select_related("project").filter(pk=integration_id).first()
    if integration is None or not secrets.compare_digest(integration.secret.encode(), secret.encode()):
        return None
    return integration


def _physical_device(*, integration: TtnIntegration, uplink: Uplink) -> PhysicalDevice:
    """The device of ``uplink.dev_eui``; a new one in the integration's project, unmapped, when there is none."""
    found = PhysicalDevice.objects.select_related("device").filter(source_name=TTN_SOURCE, source_key=uplink.dev_eui)
    physical = found.first()
    if physical is not None:
        return physical
    source_ids = {"dev_eui": uplink.dev_eui, "app_id": uplink.application_id, "dev_id": uplink.device_id}
    try:
        with transaction.atomic():
            device = device_create_in_project(project=integration.project, label=uplink.device_id or uplink.dev_eui)
            return PhysicalDevice.objects.create(
                device=device,
                org_id=integration.org_id,
                source_name=TTN_SOURCE,
                source_key=uplink.dev_eui,
                source_ids=source_ids,
                properties={"integration": str(integration.pk)},
            )
    except IntegrityError:  # made meanwhile by a concurrent delivery
        return found.get()


def _refuse(reason: str) -> Any:
    def read(body: bytes) -> Telemetry:
        raise BodyError(reason)

    return read


def ttn_uplink_receive(*, integration: TtnIntegration, body: bytes, received_at: datetime) -> Outcome:
    """One webhook delivery: kept raw; an uplink's decoded payload becomes the device's values. A message that is
    not a readable uplink, or names a device of another organisation, is kept raw as refused."""
    device: DeviceRef | None = None
    read: Any
    message_id = None
    try:
        uplink = uplink_read(body)
    except BodyError as exc:
        read = _refuse(str(exc))
    else:
        physical = _physical_device(integration=integration, uplink=uplink)
        if physical.org_id != integration.org_id:
            read = _refuse("This dev_eui belongs to a device of another organisation.")
        else:
            own = physical.device
            device = DeviceRef(own.pk, own.slug, own.org_id, own.project_id)
            read, message_id = (lambda _body: uplink.telemetry), uplink.message_id
    (outcome,) = telemetry_messages_ingest(
        inbounds=[
            Inbound(
                source=TTN_SOURCE,
                device=device,
                org_id=integration.org_id,
                body=body,
                received_at=received_at,
                read=read,
                message_id=message_id,
            )
        ]
    )
    return outcome
