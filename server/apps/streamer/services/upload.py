"""The upload of a streamer report: check it, keep the file, record the report, and queue its processing after the
commit (docs/ingest.md, "Upload"). The worker's side is :mod:`server.apps.streamer.services.processing`."""

from __future__ import annotations

import datetime
import logging
import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from server.apps.core.errors import (
    ApplicationError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from server.apps.core.slugs import device_slug, streamer_slug
from server.apps.device.models import Device
from server.apps.deviceauth.selectors import report_root_keys
from server.apps.stores.services import store_file_save
from server.apps.streamer.models import RejectedReport, Streamer, StreamerReport
from server.apps.streamer.reports import (
    ParsedReport,
    ReportFormat,
    ReportHeader,
    ReportRejectedError,
    ReportSignatureError,
    is_system_selector,
    parse_report,
    peek_header,
)
from server.apps.streamer.reports.timestamps import as_utc
from server.apps.streamer.selectors import device_for_upload
from server.apps.worker.queue import enqueue_on_commit

logger = logging.getLogger(__name__)

# Where uploaded report files are kept; the worker reads them back from here.
REPORT_STORE = "streamer-reports"
# A SignedListReport cannot exceed 16 MiB (24-bit length); dictionary reports get some room beyond that.
MAX_REPORT_BYTES = 32 * 1024 * 1024
DEFAULT_FILE_NAME = "report.bin"


def _file_name(name: str | None) -> str:
    name = PurePosixPath((name or "").replace("\\", "/")).name
    return name[-200:] if name else DEFAULT_FILE_NAME


def _extension(name: str) -> str:
    return PurePosixPath(name).suffix.lower() or ".bin"


def _upload_device(*, user, header: ReportHeader) -> Device:
    """The device the report names, if ``user`` may upload its data. A device the user cannot see is "not found",
    whether it exists or not; an unclaimed device belongs to nobody, so saying so reveals nothing."""
    slug = device_slug(header.device_id)
    found = device_for_upload(user=user, device_id=header.device_id)
    if found is not None and found.device.project_id is None:
        raise ApplicationError(
            f"Device {slug} is not claimed: claim it into a project before uploading its reports.",
            {"device": [f"Unclaimed device: {slug}."]},
        )
    if found is None or not found.visible:
        raise NotFoundError(f"Device {slug} not found.", {"device": [f"Unknown device: {slug}."]})
    if not found.may_upload:
        raise PermissionDeniedError(f"You may not upload data for device {slug}.")
    return found.device


def _parse_for_count(content: bytes, name: str, header: ReportHeader, device_id: int) -> ParsedReport | None:
    """The verified report, or None when it is keyed with a key the platform does not have yet: the worker then
    decides (a key added meanwhile lets it through; otherwise the report fails with the reason). The device's keys
    are read only when the report is keyed (a hash-signed one costs no query)."""
    found: dict[int, bytes] | None = None

    def keys() -> dict[int, bytes]:
        nonlocal found
        if found is None:
            found = report_root_keys(device_id=device_id)
        return found

    try:
        return parse_report(content, name, key_lookup=lambda _device, flags: keys().get(int(flags)))
    except ReportSignatureError:
        flags = header.signature_flags  # an encrypted report always has its flags
        if header.encrypted and flags is not None and int(flags) not in keys():
            return None
        raise


def novel_count(report: ParsedReport, last_id: int) -> int:
    """Readings and events that are new to a streamer at ``last_id``: their id is above it, or they have none."""
    ids = report.readings.reading_ids
    # The usual upload holds only readings the streamer has not had (and so none without an id, last_id >= 0): one
    # pass in C tells (0.19 ms for 10,000 readings), where counting the old ones and those without an id takes 0.55.
    all_new = not ids or min(ids) > last_id
    count = len(ids) if all_new else len(ids) - sum(map(last_id.__ge__, ids)) + ids.count(0)
    count += sum(1 for event in report.events if event.reading_id == 0 or event.reading_id > last_id)
    return count


def _rejected_quota_left(*, org, user) -> int:
    """Bytes the uploader may still keep under ``errors/``: the organisation's quota when the device is known,
    the account's otherwise, and never beyond what the store as a whole may keep."""
    kept = (
        RejectedReport.objects.filter(org=org)
        if org is not None
        else RejectedReport.objects.filter(org=None, created_by=user)
    )
    used = kept.aggregate(total=Sum("file_size"))["total"] or 0
    store_used = RejectedReport.objects.aggregate(total=Sum("file_size"))["total"] or 0
    return min(
        int(settings.REJECTED_REPORT_QUOTA_BYTES) - used, int(settings.REJECTED_REPORT_STORE_QUOTA_BYTES) - store_used
    )


def rejected_report_keep(
    *, name: str, content: bytes, received_time: datetime.datetime, reason: str, user, org=None
) -> RejectedReport | None:
    """Keep a refused upload for inspection under ``errors/`` with the reason beside it, if the quota leaves room;
    never fails the request (the 400 goes back whether the copy is kept or not)."""
    if len(content) > _rejected_quota_left(org=org, user=user):
        logger.warning("refused report %s not kept: the quota of rejected reports is used up (%s)", name, reason)
        return None
    key = f"errors/{received_time:%Y/%m/%d/%H}/{uuid.uuid4()}{_extension(name)}"
    try:
        store_file_save(store=REPORT_STORE, key=key, content=content)
        store_file_save(store=REPORT_STORE, key=f"{key}.reason.txt", content=f"{name}: {reason}\n".encode())
    except ServiceUnavailableError as exc:  # the store is out: the 400 still goes back, the copy is skipped
        logger.warning("could not keep the refused report %s: %s", name, exc.message)
        return None
    except Exception:
        logger.exception("could not keep the refused report %s", name)
        return None
    logger.warning("refused report %s kept at %s: %s", name, key, reason)
    return RejectedReport.objects.create(
        file_key=key, file_name=name, file_size=len(content), reason=reason, org=org, created_by=user
    )


def _streamer_for_upload(*, device: Device, header: ReportHeader) -> Streamer:
    selector = header.selector if header.selector is not None else 0xFFFF
    assert header.streamer_index is not None, "upload_report refuses the one format without a streamer"
    streamer, created = Streamer.objects.get_or_create(
        device=device,
        index=header.streamer_index,
        defaults={
            "slug": streamer_slug(device.id, header.streamer_index),
            "selector": selector,
            "is_system": is_system_selector(selector),
        },
    )
    streamer.device = device
    if not created and streamer.selector != selector:
        streamer.selector, streamer.is_system = selector, is_system_selector(selector)
        streamer.save(update_fields=["selector", "is_system"])
    return streamer


def streamer_report_upload(
    *, user, file_name: str | None, content: bytes, received_time: datetime.datetime
) -> StreamerReport:
    """Accept a report file: check it, store it, record it, and have the worker process it after the commit.

    ``received_time`` is when the uploader received the report from the device (``?timestamp=``; naive is UTC).
    The report's ``upload_count`` is what the upload answers as ``count``: readings and events new to the streamer
    (id above its ``last_id``, or no id), counted on the verified report. A keyed report whose key the platform does
    not have counts 0 and is left to the worker, which fails it with the reason unless the key arrives first.

    Raises ApplicationError (400) for a malformed, truncated, badly signed or refused file and for an unclaimed
    device, NotFoundError for a device the user cannot see, PermissionDeniedError without
    ``can_create_stream_data``, PayloadTooLargeError (413, nothing kept) for a file over ``MAX_REPORT_BYTES``.
    Refused files are kept under ``errors/`` in the reports store, within a quota (``rejected_report_keep``). When
    the reports store cannot take the file, StoreUnavailableError (503) rolls everything back (a new streamer too):
    no report, no message, so the same upload retried later counts the same readings.
    """
    name = _file_name(file_name)
    received_time = as_utc(received_time)
    if len(content) > MAX_REPORT_BYTES:
        raise PayloadTooLargeError(f"{name}: {len(content)} bytes is more than a report may have ({MAX_REPORT_BYTES}).")
    device: Device | None = None
    try:
        header = peek_header(content, name)
        if header.format is ReportFormat.INDIVIDUAL_READING:
            raise ReportRejectedError(
                f"{name}: an IndividualReadingReport comes from no streamer; upload a SignedListReport instead"
            )
        device = _upload_device(user=user, header=header)
        parsed = _parse_for_count(content, name, header, device.id)
    except PermissionDeniedError:
        raise
    except ApplicationError as exc:
        org = device.org if device is not None else None
        rejected_report_keep(
            name=name, content=content, received_time=received_time, reason=exc.message, user=user, org=org
        )
        raise

    with transaction.atomic():
        streamer = _streamer_for_upload(device=device, header=header)
        report = StreamerReport(
            id=uuid.uuid4(),
            streamer=streamer,
            original_first_id=header.lowest_id,
            original_last_id=header.highest_id,
            sent_timestamp=received_time,
            device_sent_timestamp=header.sent_timestamp,
            incremental_id=header.report_id,
            last_id_at_upload=streamer.last_id,
            reading_count=header.count,
            upload_count=novel_count(parsed, streamer.last_id) if parsed is not None else 0,
            file_name=name,
            file_size=len(content),
            created_by=user,
        )
        # The file first: a file without its row is harmless, a row without its file is not.
        report.file_key = f"{streamer.slug}/{received_time:%Y/%m/%d/%H}/{report.id}{_extension(name)}"
        store_file_save(store=REPORT_STORE, key=report.file_key, content=content)
        report.save(force_insert=True)
        enqueue_on_commit("ProcessReport", {"report_id": str(report.id)})
    return report
