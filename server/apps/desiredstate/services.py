"""Writes on desired states: a new version for a device or a fleet (one ``desiredstate`` operation per device),
cancelling a rollout, and what Kanto devices send back (feedback and current state)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.desiredstate.models import DesiredState, DeviceCurrentState
from server.apps.desiredstate.wire import CurrentState, current_state_from
from server.apps.device.models import Device
from server.apps.fleet.models import Fleet
from server.apps.fleet.selectors import fleet_members
from server.apps.operation.kinds import CURRENT_STATE_NAME, DESIRED_STATE_NAME
from server.apps.operation.models import (
    OPEN_STATUSES,
    DeviceMessageError,
    DeviceOperation,
    OperationStatus,
    Transport,
)
from server.apps.operation.services.inbound import unreadable_message
from server.apps.operation.services.operations import (
    ReplyOutcome,
    history_append,
    operation_replies_record,
    operation_request_clean,
    operations_create,
    step,
)
from server.apps.operation.topics import DeviceTopicMessage
from server.apps.operation.wire import MessageError, Reply, feedback_reply, json_from_bytes

logger = logging.getLogger(__name__)


def _check_manage(user: Any, org: Any) -> None:
    if not user_has_org_permission(user, org, permission_for(DesiredState, "add")):
        raise PermissionDeniedError("You may not manage desired states in this organisation.")


@transaction.atomic(durable=True)
def desired_state_create(
    *,
    user: Any,
    document: Any,
    device: Device | None = None,
    fleet: Fleet | None = None,
    transport: str | None = None,
) -> DesiredState:
    """The next version of the desired state of ``device`` or of every current member of ``fleet``: one operation
    per device with a new activityId (its id), all in the version's batch. A device's open desired state, whatever
    it came from, ends SUPERSEDED."""
    if (device is None) == (fleet is None):
        raise ApplicationError("Name a device or a fleet.", {"device": ["A device or a fleet, not both."]})
    org = device.org if device is not None else fleet.org  # type: ignore[union-attr]
    if org is None:
        raise ApplicationError("The device is not claimed.", {"device": ["Not claimed."]})
    _check_manage(user, org)
    request = operation_request_clean(kind=DESIRED_STATE_NAME, payload=document, transport=transport)
    if device is not None:
        devices = [Device.objects.select_related("presence").get(pk=device.pk)]
        versions = DesiredState.objects.filter(device=device)
    else:
        members = fleet_members(fleet=fleet).select_related("device__presence")  # type: ignore[arg-type]
        devices = [membership.device for membership in members]
        versions = DesiredState.objects.filter(fleet=fleet)
    if not devices:
        raise ApplicationError("The fleet has no devices.", {"fleet": ["No devices to send it to."]})
    # Versions of one target are made one at a time: the target's row is locked.
    (Fleet if fleet is not None else Device).objects.select_for_update().filter(pk=(fleet or device).pk).first()  # type: ignore[union-attr]
    version = (versions.aggregate(latest=Max("version"))["latest"] or 0) + 1
    desired = DesiredState.objects.create(
        org=org,
        device=device,
        fleet=fleet,
        version=version,
        document=request.payload,
        device_count=len(devices),
        created_by=user,
    )
    operations_create(user=user, devices=devices, request=request, batch=desired.batch)
    return desired


@transaction.atomic(durable=True)
def desired_state_cancel(*, user: Any, desired_state: DesiredState) -> int:
    """Cancel the rollout: its open operations end CANCELED (a device already running one may still report; its
    feedback is then ignored). Returns how many were canceled; 409 once canceled."""
    _check_manage(user, desired_state.org)
    now = timezone.now()
    updated = DesiredState.objects.filter(pk=desired_state.pk, canceled_on__isnull=True).update(canceled_on=now)
    if not updated:
        raise ConflictError("The rollout is already canceled.")
    desired_state.canceled_on = now
    detail = {"by": getattr(user, "username", ""), "rollout": desired_state.pk}
    return DeviceOperation.objects.filter(batch=desired_state.batch, status__in=OPEN_STATUSES).update(
        status=OperationStatus.CANCELED, closed_on=now, history=history_append(step("canceled", detail, at=now))
    )


# From the devices ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportedState:
    device_id: int
    org_id: Any
    state: CurrentState
    reported_on: datetime


def current_states_record(*, reports: Sequence[ReportedState], transport: Transport = Transport.MQTT) -> int:
    """Store each device's latest inventory (one statement for the batch; a device's latest report in it wins), and
    answer the devices' open inventory refreshes with it (one more query when none is open)."""
    latest = {report.device_id: report for report in sorted(reports, key=lambda report: report.reported_on)}
    rows = [
        DeviceCurrentState(
            device_id=report.device_id,
            org_id=report.org_id,
            activity_id=report.state.activity_id,
            hardware_nodes=report.state.hardware_nodes,
            software_nodes=report.state.software_nodes,
            associations=report.state.associations,
            reported_on=report.reported_on,
        )
        for report in latest.values()
    ]
    DeviceCurrentState.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["device"],
        update_fields=["org", "activity_id", "hardware_nodes", "software_nodes", "associations", "reported_on"],
    )
    _refreshes_answer(latest, transport)
    return len(rows)


def _refreshes_answer(latest: dict[int, ReportedState], transport: Transport) -> None:
    """A device's current state answers its open ``currentstate`` operations (the refreshes asked of it), whatever
    activityId it names: the inventory is now the one it reported."""
    refreshes = DeviceOperation.objects.filter(
        device_id__in=list(latest), kind=CURRENT_STATE_NAME, status__in=OPEN_STATUSES
    ).values_list("id", "device_id")
    replies = []
    for operation_id, device_id in refreshes:
        state = latest[device_id].state
        summary = {
            "activityId": state.activity_id,
            "hardwareNodes": len(state.hardware_nodes),
            "softwareNodes": len(state.software_nodes),
            "associations": len(state.associations),
        }
        replies.append((device_id, Reply(operation_id, CURRENT_STATE_NAME, "SUCCESS", summary, "", str(operation_id))))
    if replies:
        operation_replies_record(replies=replies, transport=transport)


def feedback_messages_process(*, messages: Sequence[DeviceTopicMessage]) -> list[ReplyOutcome]:
    """A batch from ``devices/<slug>/update/desiredstatefeedback``: each message recorded on the operation its
    activityId names, as a reply. Feedback for an unknown activity (another device's, or one already closed) changes
    nothing and is logged; a message that cannot be read is an error on its device."""
    feedback: list[tuple[int, Reply]] = []
    errors = []
    for item in messages:
        try:
            feedback.append((item.device_id, feedback_reply(json_from_bytes(item.message.payload, "feedback"))))
        except MessageError as exc:
            errors.append(
                unreadable_message(device_id=item.device_id, org_id=item.org_id, message=item.message, error=exc)
            )
    if errors:
        DeviceMessageError.objects.bulk_create(errors)
    return operation_replies_record(replies=feedback, transport=Transport.MQTT) if feedback else []


def current_state_messages_process(*, messages: Sequence[DeviceTopicMessage]) -> int:
    """A batch from ``devices/<slug>/update/currentstate``: each device's inventory stored."""
    reports = []
    errors = []
    for item in messages:
        try:
            state = current_state_from(json_from_bytes(item.message.payload, "current state"))
        except MessageError as exc:
            errors.append(
                unreadable_message(device_id=item.device_id, org_id=item.org_id, message=item.message, error=exc)
            )
            continue
        reports.append(ReportedState(item.device_id, item.org_id, state, item.message.received_at))
    if errors:
        DeviceMessageError.objects.bulk_create(errors)
    return current_states_record(reports=reports) if reports else 0
