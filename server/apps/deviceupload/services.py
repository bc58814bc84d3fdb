"""Writes on device uploads: a device's request to upload a file (its upload URL, sent as the file's ``uploadfile``
operation), its status reports (the checksum verified on SUCCESS), what comes in over MQTT, and the schedules that
ask devices for their files periodically."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.device.models import Device
from server.apps.deviceupload.models import MAX_EVERY_HOURS, UPLOAD_STORE, DeviceUpload, UploadSchedule
from server.apps.deviceupload.wire import UploadRequest, UploadStatus, upload_request_from, upload_status_from
from server.apps.fleet.models import Fleet
from server.apps.fleet.selectors import fleet_members
from server.apps.operation.kinds import UPLOAD_CANCEL_NAME, UPLOAD_FILE, UPLOAD_NAME
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
    operation_replies_record,
    operation_request_clean,
    operations_create,
    operations_mark_sent,
    operations_send_later,
    step,
)
from server.apps.operation.topics import DeviceTopicMessage
from server.apps.operation.wire import MessageError, Reply, epoch_ms, json_from_bytes
from server.apps.stores.backends import StoreFileNotFoundError
from server.apps.stores.selectors import store_file_open, store_upload_url
from server.apps.stores.services import store_file_delete

logger = logging.getLogger(__name__)

UPLOAD_URL_SECONDS = 3600
# A trigger whose files may still be asked for: open, or done because the device asked for its first file.
TRIGGER_ACCEPTS = (OperationStatus.PENDING, OperationStatus.SENT, OperationStatus.SUCCEEDED)


def start_message(upload: DeviceUpload) -> dict[str, Any]:
    return {"correlationId": upload.correlation_id, "options": upload.operation.payload["options"]}


@transaction.atomic
def upload_requests_record(
    *, requests: Sequence[tuple[int, Any, UploadRequest]], transport: Transport, base_url: str = ""
) -> list[DeviceUpload | None]:
    """Each ``(device id, org id, request)``: the file's ``DeviceUpload`` and its ``uploadfile`` operation, whose
    request is Kanto's ``start`` with the upload URL. A request naming no upload trigger of its device (unknown,
    another device's, canceled or timed out) is logged and ignored (None); asking again for the same file answers
    the same upload. Over HTTP the start is the answer (its operation SENT at once); otherwise the worker sends it.
    A folder store's upload link is a path on this site, after ``base_url``."""
    triggers = {
        op.id: op
        for op in DeviceOperation.objects.filter(
            id__in={request.trigger_id for _, _, request in requests if request.trigger_id}, kind=UPLOAD_NAME
        )
    }
    existing = {
        (upload.device_id, upload.correlation_id): upload
        for upload in DeviceUpload.objects.filter(
            correlation_id__in=[request.correlation_id for _, _, request in requests]
        ).select_related("operation")
    }
    now = timezone.now()
    answers: list[DeviceUpload | None] = []
    created: list[DeviceUpload] = []
    first_requests: list[tuple[int, Reply]] = []
    for device_id, org_id, request in requests:
        trigger = triggers.get(request.trigger_id) if request.trigger_id else None
        if trigger is None or trigger.device_id != device_id or trigger.status not in TRIGGER_ACCEPTS:
            logger.warning(
                "upload request %r from device %s names no upload of it; ignored", request.correlation_id, device_id
            )
            answers.append(None)
            continue
        upload = existing.get((device_id, request.correlation_id))
        if upload is None:
            upload_id = uuid.uuid4()
            key = f"{org_id}/{device_id:012x}/{upload_id}/{request.name}"
            url = store_upload_url(store=UPLOAD_STORE, key=key, expires=UPLOAD_URL_SECONDS)
            url = url if "://" in url else base_url.rstrip("/") + url
            options = {"storage.provider": "generic", "https.url": url, "https.method": "PUT", **request.info}
            operation = DeviceOperation(
                id=uuid.uuid4(),
                device_id=device_id,
                org_id=org_id,
                kind=UPLOAD_FILE.name,
                name=UPLOAD_FILE.name,
                payload={"correlationId": request.correlation_id, "options": options},
                transport=transport,
                deadline=now + UPLOAD_FILE.deadline,
                created_on=now,
                created_by_id=trigger.created_by_id,
                history=[step("requested", {"file": request.name, "via": transport.value}, at=now)],
            )
            upload = DeviceUpload(
                id=upload_id,
                device_id=device_id,
                org_id=org_id,
                trigger=trigger,
                operation=operation,
                correlation_id=request.correlation_id,
                name=request.name,
                key=key,
                checksum=request.checksum,
                created_on=now,
            )
            existing[(device_id, request.correlation_id)] = upload
            created.append(upload)
            if trigger.is_open:
                first_requests.append(
                    (
                        device_id,
                        Reply(
                            trigger.id, UPLOAD_NAME, "REQUESTED", {"first": request.correlation_id}, "", str(trigger.id)
                        ),
                    )
                )
        answers.append(upload)
    if created:
        operations = DeviceOperation.objects.bulk_create([upload.operation for upload in created])
        DeviceUpload.objects.bulk_create(created)
        if transport == Transport.HTTP:
            operations_mark_sent(operation_ids=[op.id for op in operations], detail={"via": "reply"})
        else:
            operations_send_later(operations)
    if first_requests:
        operation_replies_record(replies=first_requests, transport=transport, now=now)
    return answers


def _digest(key: str, algorithm: str) -> tuple[str, int]:
    hasher = hashlib.new(algorithm)
    size = 0
    with store_file_open(store=UPLOAD_STORE, key=key) as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def _verify(upload: DeviceUpload) -> tuple[str, int | None]:
    """Why a reported SUCCESS does not hold ("" when it does), and the stored file's size."""
    algorithm, _, expected = (upload.checksum or "sha256:").partition(":")
    try:
        actual, size = _digest(upload.key, algorithm)
    except StoreFileNotFoundError:
        return "The device reported SUCCESS but no file was uploaded.", None
    if expected and actual != expected:
        return f"Checksum mismatch: the device said {algorithm} {expected}, the uploaded file has {actual}.", size
    return "", size


@transaction.atomic
def upload_statuses_record(*, statuses: Sequence[tuple[int, UploadStatus]], transport: Transport) -> list[ReplyOutcome]:
    """Each ``(device id, status report)``, on the upload its correlationId names: its state, progress and message
    kept on the upload, and the report recorded as a reply to its operation. A SUCCESS counts once the stored file
    matches the checksum the device gave; otherwise the upload FAILED with the reason. A report for an unknown upload
    is logged and ignored; a SUCCESS for an upload already closed (canceled) deletes what arrived."""
    uploads = {
        (upload.device_id, upload.correlation_id): upload
        for upload in DeviceUpload.objects.select_for_update(of=("self",))
        .filter(correlation_id__in=[status.correlation_id for _, status in statuses])
        .select_related("operation")
    }
    replies: list[tuple[int, Reply]] = []
    outcomes_at: list[int | None] = []
    changed: dict[uuid.UUID, DeviceUpload] = {}
    confirmed: list[tuple[int, UploadStatus]] = []  # CANCELED after the platform canceled: confirms its cancel
    for device_id, status in statuses:
        upload = uploads.get((device_id, status.correlation_id))
        if upload is None:
            logger.warning(
                "upload status for unknown upload %r from device %s ignored", status.correlation_id, device_id
            )
            outcomes_at.append(None)
            continue
        state, error = status.state, status.message
        if state == "SUCCESS":
            if not upload.operation.is_open:
                logger.warning("upload %s reported SUCCESS after it closed; the file is deleted", upload.correlation_id)
                store_file_delete(store=UPLOAD_STORE, key=upload.key)
                outcomes_at.append(len(replies))
                replies.append(
                    (
                        device_id,
                        Reply(upload.operation_id, "uploadfile", state, status.report, "", status.correlation_id),
                    )
                )
                continue
            error, upload.size = _verify(upload)
            if error:
                state = "FAILED"
        if upload.operation.is_open or (state == "CANCELED" == upload.operation.status):
            upload.state, upload.progress, upload.message = state, status.progress, error or status.message
            changed[upload.id] = upload
        if state == "CANCELED" == upload.operation.status:
            confirmed.append((device_id, status))
        outcomes_at.append(len(replies))
        replies.append(
            (device_id, Reply(upload.operation_id, "uploadfile", state, status.report, error, status.correlation_id))
        )
    if changed:
        DeviceUpload.objects.bulk_update(list(changed.values()), ["state", "progress", "message", "size"])
    recorded = operation_replies_record(replies=replies, transport=transport) if replies else []
    if confirmed:
        _cancels_confirm(confirmed, transport)
    return [ReplyOutcome("unknown") if index is None else recorded[index] for index in outcomes_at]


def _cancels_confirm(confirmed: Sequence[tuple[int, UploadStatus]], transport: Transport) -> None:
    """The device's CANCELED reports on uploads the platform canceled answer the cancel messages it was sent."""
    notices = DeviceOperation.objects.filter(
        kind=UPLOAD_CANCEL_NAME,
        status__in=OPEN_STATUSES,
        device_id__in={device_id for device_id, _ in confirmed},
        payload__correlationId__in=[status.correlation_id for _, status in confirmed],
    ).values_list("id", "device_id", "payload__correlationId")
    by_correlation = {(device_id, correlation): notice_id for notice_id, device_id, correlation in notices}
    replies = [
        (device_id, Reply(notice_id, UPLOAD_CANCEL_NAME, "CANCELED", status.report, "", status.correlation_id))
        for device_id, status in confirmed
        if (notice_id := by_correlation.get((device_id, status.correlation_id))) is not None
    ]
    if replies:
        operation_replies_record(replies=replies, transport=transport)


def upload_link_refused(key: str) -> str:
    """The uploads store's guard on signed upload links: a link takes a file only while its upload is open."""
    parts = key.split("/")
    try:
        upload_id = uuid.UUID(parts[2]) if len(parts) == 4 else None
    except ValueError:
        upload_id = None
    status = (
        DeviceUpload.objects.filter(pk=upload_id, key=key).values_list("operation__status", flat=True).first()
        if upload_id
        else None
    )
    if status is None:
        return "No upload waits for this file."
    if status not in OPEN_STATUSES:
        return f"This upload is {OperationStatus(status).label.lower()}: its link takes no file."
    return ""


# From MQTT -----------------------------------------------------------------------------------------------------------


def upload_requests_process(*, messages: Sequence[DeviceTopicMessage]) -> list[DeviceUpload | None]:
    """A batch from ``devices/<slug>/upload/request``."""
    requests, errors = [], []
    for item in messages:
        try:
            requests.append((item.device_id, item.org_id, upload_request_from(json_from_bytes(item.message.payload))))
        except MessageError as exc:
            errors.append(
                unreadable_message(device_id=item.device_id, org_id=item.org_id, message=item.message, error=exc)
            )
    if errors:
        DeviceMessageError.objects.bulk_create(errors)
    if not requests:
        return []
    return upload_requests_record(requests=requests, transport=Transport.MQTT, base_url=settings.UPLOAD_BASE_URL)


def upload_statuses_process(*, messages: Sequence[DeviceTopicMessage]) -> list[ReplyOutcome]:
    """A batch from ``devices/<slug>/upload/status``."""
    statuses, errors = [], []
    for item in messages:
        try:
            statuses.append((item.device_id, upload_status_from(json_from_bytes(item.message.payload))))
        except MessageError as exc:
            errors.append(
                unreadable_message(device_id=item.device_id, org_id=item.org_id, message=item.message, error=exc)
            )
    if errors:
        DeviceMessageError.objects.bulk_create(errors)
    return upload_statuses_record(statuses=statuses, transport=Transport.MQTT) if statuses else []


# Schedules -----------------------------------------------------------------------------------------------------------

FILES_PATTERN = re.compile(r"^[^\x00-\x1f\x7f]{0,200}$")
SCHEDULES_PER_RUN = 500


def _schedule_fields(every_hours: Any, files: Any) -> tuple[int, str]:
    if isinstance(every_hours, bool) or not isinstance(every_hours, int) or not 1 <= every_hours <= MAX_EVERY_HOURS:
        raise ApplicationError(
            f"Uploads are asked for every 1 to {MAX_EVERY_HOURS} hours.",
            {"every_hours": [f"1 to {MAX_EVERY_HOURS}."]},
        )
    if not isinstance(files, str) or not FILES_PATTERN.match(files):
        raise ApplicationError("The file filter is text (at most 200).", {"files": ["A glob such as *.log."]})
    return every_hours, files.strip()


def _schedule_allowed(user: Any, org: Any) -> None:
    if not user_has_org_permission(user, org, permission_for(UploadSchedule, "add")):
        raise PermissionDeniedError("You may not ask these devices for their files.")


@transaction.atomic
def upload_schedule_create(
    *,
    user: Any,
    every_hours: Any,
    files: Any = "",
    device: Device | None = None,
    fleet: Fleet | None = None,
    enabled: bool = True,
) -> UploadSchedule:
    """Ask ``device`` (or every member of ``fleet``) for its files every ``every_hours``; the first time at the
    worker's next look."""
    if (device is None) == (fleet is None):
        raise ApplicationError("Name a device or a fleet.", {"device": ["A device or a fleet, not both."]})
    org = device.org if device is not None else fleet.org  # type: ignore[union-attr]
    if org is None:
        raise ApplicationError("The device is not claimed.", {"device": ["Not claimed."]})
    _schedule_allowed(user, org)
    every_hours, files = _schedule_fields(every_hours, files)
    return UploadSchedule.objects.create(
        org=org,
        device=device,
        fleet=fleet,
        every_hours=every_hours,
        files=files,
        enabled=enabled,
        next_run=timezone.now(),
        created_by=user,
    )


@transaction.atomic
def upload_schedule_update(
    *, user: Any, schedule: UploadSchedule, every_hours: Any = None, files: Any = None, enabled: bool | None = None
) -> UploadSchedule:
    """A new interval counts from the last run (or now); enabling again makes it due at once if it is overdue."""
    _schedule_allowed(user, schedule.org)
    every_hours, files = _schedule_fields(
        schedule.every_hours if every_hours is None else every_hours, schedule.files if files is None else files
    )
    if every_hours != schedule.every_hours:
        schedule.next_run = (schedule.last_run or timezone.now()) + timedelta(hours=every_hours)
    schedule.every_hours, schedule.files = every_hours, files
    if enabled is not None:
        schedule.enabled = enabled
    schedule.save(update_fields=["every_hours", "files", "enabled", "next_run"])
    return schedule


def upload_schedule_delete(*, user: Any, schedule: UploadSchedule) -> None:
    _schedule_allowed(user, schedule.org)
    schedule.delete()


def upload_schedules_run(*, now: datetime | None = None) -> int:
    """Every due schedule makes its ``upload`` operations, once: each schedule is locked, made and moved to its next
    time in one transaction, so a run that crashes leaves it due and the retry makes them then; a schedule another
    worker holds is skipped. Returns how many operations were made."""
    now = now or timezone.now()
    due = UploadSchedule.objects.filter(enabled=True, next_run__lte=now).order_by("next_run")
    return sum(_schedule_run(schedule_id, now) for schedule_id in due.values_list("id", flat=True)[:SCHEDULES_PER_RUN])


@transaction.atomic
def _schedule_run(schedule_id: int, now: datetime) -> int:
    schedule = (
        UploadSchedule.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk=schedule_id, enabled=True, next_run__lte=now)
        .select_related("org", "device__presence", "fleet", "created_by")
        .first()
    )
    if schedule is None:  # made by another worker meanwhile, or held by one now
        return 0
    interval = timedelta(hours=schedule.every_hours)
    options = {"info.schedule": str(schedule.pk), **({"files": schedule.files} if schedule.files else {})}
    window = {"from": epoch_ms(schedule.last_run or now - interval), "to": epoch_ms(now)}
    if schedule.device is not None:
        devices = [schedule.device] if schedule.device.org_id == schedule.org_id else []
    else:
        members = fleet_members(fleet=schedule.fleet).select_related("device__presence")  # type: ignore[arg-type, unused-ignore]
        devices = [membership.device for membership in members]
    made, error = 0, ""
    try:
        if schedule.created_by is None:
            raise PermissionDeniedError("The account that made the schedule is gone.")
        request = operation_request_clean(kind=UPLOAD_NAME, payload={"options": options, **window})
        with transaction.atomic():
            made = len(operations_create(user=schedule.created_by, devices=devices, request=request))
    except ApplicationError as exc:
        error = exc.message
        logger.warning("upload schedule %s made nothing: %s", schedule.pk, error)
    while schedule.next_run <= now:
        schedule.next_run += interval
    schedule.last_run, schedule.last_count, schedule.last_error = now, made, error
    schedule.save(update_fields=["next_run", "last_run", "last_count", "last_error"])
    return made
