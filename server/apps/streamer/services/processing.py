"""The processing of stored streamer reports, which the worker runs (the ``ProcessReport`` action): read the file,
parse and time it, map it to streams, write the readings (``writer``), then acknowledge them. docs/ingest.md,
"Worker", tells the whole story.

Reports go through a small pipeline: one report's rows are written in a background thread while this thread loads
the next report and acknowledges the previous one.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils import timezone

from server.apps.core.slugs import streamer_slug
from server.apps.device.models import Device
from server.apps.deviceauth.selectors import report_root_keys
from server.apps.stores.backends import StoreFileNotFoundError
from server.apps.stores.selectors import store_file_read
from server.apps.stores.services import store_file_save
from server.apps.stream.models import StreamId
from server.apps.streamer.ingest import ReportRows, report_rows, streams_for_report
from server.apps.streamer.models import ReportStatus, Streamer, StreamerReport
from server.apps.streamer.reports import PreparedReport, ReportError, ReportRejectedError, parse_report, prepare_report
from server.apps.streamer.reports.timestamps import REBOOT_STREAM
from server.apps.streamer.services.upload import REPORT_STORE
from server.apps.streamer.writer import BackgroundWriter, PendingWrite, WriteResult
from server.apps.streamevent.services import EVENT_STORE, stream_events_bulk_insert
from server.apps.streamfilter.machine import CompiledFilter
from server.apps.streamfilter.selectors import PROJECT_REVISION, active_filters
from server.apps.streamfilter.services import FilterRows, filters_evaluate
from server.apps.worker.queue import enqueue

logger = logging.getLogger(__name__)


class ReportProcessingError(Exception):
    """The report cannot be processed, now or later (bad content, a device gone). It is marked failed with the
    reason; the worker must not retry it."""


def streamer_report_fail(*, report_id, reason: str) -> None:
    """Mark a report failed with the reason an operator reads (it will not be processed)."""
    StreamerReport.objects.filter(pk=report_id).update(
        status=ReportStatus.FAILED, error=reason, processed_on=timezone.now()
    )
    logger.warning("report %s failed: %s", report_id, reason)


def _report_failed(report: StreamerReport, reason: str) -> ReportProcessingError:
    streamer_report_fail(report_id=report.pk, reason=reason)
    return ReportProcessingError(reason)


def _previous_time_base(report: StreamerReport) -> datetime.datetime | None:
    """When the device booted according to the streamer's latest successful report before this one."""
    previous = (
        StreamerReport.objects.filter(
            streamer_id=report.streamer_id, status=ReportStatus.SUCCESS, sent_timestamp__lt=report.sent_timestamp
        )
        .order_by("-sent_timestamp")
        .values_list("sent_timestamp", "device_sent_timestamp")
        .first()
    )
    if previous is None:
        return None
    return previous[0] - datetime.timedelta(seconds=previous[1])


def _prepare(report: StreamerReport, content: bytes, settle: Callable[[int], None]) -> PreparedReport:
    """Parse and time the report. A report with reboots places its readings before a reboot with the previous
    report's time base: ``settle(streamer_id)`` first finishes any earlier report of the streamer still in
    flight, so that base is the one a report-by-report run would find."""
    streamer, device = report.streamer, report.streamer.device

    def key_lookup(_device_id: int, flags: int) -> bytes | None:
        # Only keyed reports ask, so hash-signed ones cost no query.
        return report_root_keys(device_id=device.id).get(int(flags))

    parsed = parse_report(content, report.file_name, key_lookup=key_lookup)
    header = parsed.header
    if header.device_id != device.id or header.streamer_index != streamer.index:
        other = streamer_slug(header.device_id, header.streamer_index or 0)
        raise ReportRejectedError(f"{report.file_name}: the file is a report of {other}, not of {streamer.slug}")
    # The previous report's base only places readings before a reboot in this report.
    has_reboots = REBOOT_STREAM in parsed.readings.streams
    if has_reboots:
        settle(streamer.pk)
    return prepare_report(
        parsed,
        received_time=report.sent_timestamp,
        # Readings stored already are dropped here; any stored since the upload are skipped by the unique index.
        last_id=min(report.last_id_at_upload, streamer.last_id),
        previous_time_base=_previous_time_base(report) if has_reboots else None,
    )


# Reports of a streamer that were accepted but whose readings are not committed yet.
UNCOMMITTED_STATUSES = (ReportStatus.SCHEDULED, ReportStatus.PROCESSING)


def _report_statement(fields: list[str]) -> str:
    """Record the report's figures, holding the streamer's row lock to the commit: one streamer's acknowledgements
    run one at a time, and each next one sees the reports the previous one settled."""
    streamer, report = Streamer._meta.db_table, StreamerReport._meta.db_table
    assignments = ", ".join(f"{field} = %({field})s" for field in fields)
    return (
        f"UPDATE {report} SET {assignments} "
        f"FROM (SELECT id FROM {streamer} WHERE id = %(streamer_id)s FOR UPDATE) AS locked "
        f"WHERE {report}.id = %(report_id)s AND {report}.streamer_id = locked.id"
    )


def _acknowledge_statement() -> str:
    """Move the streamer's ``last_id`` (and the device's ``last_known_id``, and their last reboot) up to the highest
    id of the committed reports, but never past a reading of a report still uncommitted: to just below the first id
    of the streamer's earliest such report. A report processed ahead of an earlier, stranded one (its worker died)
    is held there until the earlier one commits; that one's acknowledgement then takes ``last_id`` past both.
    Only reports whose ids reach above ``last_id`` count (an index range on (streamer, original_last_id)); LEAST and
    GREATEST skip the NULL of a streamer with no such report."""
    streamer, device, report = (model._meta.db_table for model in (Streamer, Device, StreamerReport))
    return (
        "WITH bound AS (SELECT s.id, "
        f"(SELECT min(r.original_first_id) FROM {report} r WHERE r.streamer_id = s.id "
        "AND r.original_last_id > s.last_id AND r.status IN %(uncommitted)s) AS uncommitted_from, "
        f"(SELECT max(r.original_last_id) FROM {report} r WHERE r.streamer_id = s.id "
        "AND r.original_last_id > s.last_id AND r.status = %(success)s) AS committed_to "
        f"FROM {streamer} s WHERE s.id = %(streamer_id)s), "
        f"acknowledged AS (UPDATE {streamer} s SET last_id = GREATEST(s.last_id, LEAST("
        "GREATEST(%(highest)s, bound.committed_to), bound.uncommitted_from - 1)), "
        "last_reboot_ts = GREATEST(s.last_reboot_ts, %(reboot)s::timestamptz) "
        "FROM bound WHERE s.id = bound.id RETURNING s.last_id) "
        f"UPDATE {device} SET last_known_id = GREATEST(last_known_id, (SELECT last_id FROM acknowledged)), "
        "last_reboot_ts = GREATEST(last_reboot_ts, %(reboot)s::timestamptz) WHERE id = %(device_id)s"
    )


def _acknowledge(
    *,
    report: StreamerReport,
    prepared: PreparedReport,
    rows: ReportRows,
    written: WriteResult,
    streams: dict[int, StreamId],
    filters: list[CompiledFilter],
) -> StreamerReport:
    """After the readings are committed, in one transaction: the events, the report's figures and ``success``, then
    the streamer's and device's acknowledged ids (they only move up, and never past an uncommitted report's
    readings), then the project's stream filters over the readings (their states and alerts commit with the
    acknowledgement). A worker that dies before the commit leaves the report not ``success``, and the retry redoes
    it all (events have fixed uuids and are stored once; alerts are unique by their reading)."""
    event_ids = [event.streamer_local_id for event in rows.events if event.streamer_local_id]
    first_ids = [i for i in (written.first_id, min(event_ids, default=0)) if i]
    figures = {
        "status": ReportStatus.SUCCESS,
        "error": "",
        "processed_on": timezone.now(),
        "actual_first_id": min(first_ids, default=0),
        "actual_last_id": max(written.last_id, max(event_ids, default=0)),
        "new_reading_count": written.new_reading_count,
        "duplicate_reading_count": written.duplicate_reading_count + prepared.dropped_readings,
        "skipped_reading_count": rows.skipped_readings,
        "event_count": len(rows.events),
    }
    parameters: dict[str, Any] = {
        **figures,
        "highest": max(prepared.header.highest_id, prepared.last_id),
        "reboot": prepared.last_reboot_timestamp,
        "streamer_id": report.streamer_id,
        "device_id": report.streamer.device_id,
        "report_id": report.pk,
        "uncommitted": tuple(str(status) for status in UNCOMMITTED_STATUSES),
        "success": str(ReportStatus.SUCCESS),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        if rows.events:
            stream_events_bulk_insert(events=rows.events)
        cursor.execute(_report_statement(list(figures)), parameters)
        cursor.execute(_acknowledge_statement(), parameters)
        if filters:
            readings = rows.readings.readings
            filters_evaluate(
                rows=FilterRows(
                    streams=streams,
                    stream_keys=readings.streams,
                    streamer_local_ids=readings.reading_ids,
                    timestamps=readings.timestamps,
                    values=rows.readings.values,
                ),
                filters=filters,
            )
    for field, value in figures.items():
        setattr(report, field, value)
    return report


@dataclass
class _ReportWork:
    """A report read, parsed and mapped to rows: what its write and acknowledgement need."""

    report: StreamerReport
    prepared: PreparedReport
    rows: ReportRows
    # The report's streams by variable id, and its project's active stream filters.
    streams: dict[int, StreamId]
    filters: list[CompiledFilter]


def _load(
    report: StreamerReport,
    settle: Callable[[int], None],
    known_streams: dict[int, dict[int, StreamId]],
    filters: dict[str, list[CompiledFilter]],
) -> _ReportWork | None:
    """Everything before the write, on the default database and the stores; None for a report that succeeded
    already. Raises ReportProcessingError (after marking the report failed).

    ``known_streams`` (device id → variable id → stream) holds the streams met earlier in the batch: a device's
    later reports on the same streams do not look them up again."""
    if report.status == ReportStatus.SUCCESS:
        return None
    device = report.streamer.device
    if device.project_id is None:
        raise _report_failed(report, f"device {device.slug} is no longer claimed into a project")
    try:
        content = store_file_read(store=REPORT_STORE, key=report.file_key)
    except StoreFileNotFoundError:
        raise _report_failed(report, f"the report file {report.file_key} is missing from the store") from None
    try:
        prepared = _prepare(report, content, settle)
    except ReportError as exc:
        raise _report_failed(report, exc.message) from exc
    lids = set(prepared.readings.streams) | {event.stream for event in prepared.events}
    streams = known_streams.setdefault(device.pk, {})
    if not lids <= streams.keys():
        streams.update(streams_for_report(device=device, lids=lids))
    rows = report_rows(report_id=report.pk, prepared=prepared, device=device, streams=streams)
    for key, payload in rows.event_payloads.items():
        store_file_save(store=EVENT_STORE, key=key, content=payload, content_type="application/json")
    return _ReportWork(report, prepared, rows, streams, filters.get(str(device.project_id), []))


Outcome = tuple[int, Exception | None]


class DevicesSeen:
    """The devices whose reports a batch committed, each with its latest report's arrival. Once the batch is
    acknowledged they are handed to the operation app in one message (``DevicesSeen``: presence, and configuration
    for a device heard from after a gap, docs/operations.md): one statement here, nothing when no report committed.
    Presence must not hold reports up: a failure to queue it is logged."""

    def __init__(self) -> None:
        self.devices: dict[int, datetime.datetime] = {}

    def add(self, report: StreamerReport) -> None:
        device_id, at = report.streamer.device_id, report.sent_timestamp
        if device_id not in self.devices or at > self.devices[device_id]:
            self.devices[device_id] = at

    def send(self) -> None:
        if not self.devices or not settings.REPORT_PRESENCE:
            return
        seen = [[device_id, at.isoformat()] for device_id, at in sorted(self.devices.items())]
        try:
            enqueue("DevicesSeen", {"devices": seen, "transport": "http"})
        except Exception:
            logger.exception("could not queue the presence of %d devices", len(seen))
        self.devices = {}


class _Pipeline:
    """Reports through the write: while the writer's threads store one report's rows, this thread loads the next
    report, queues its write behind the first one's (each write connection starts it as soon as its own part of the
    first is done), then acknowledges the first. Outcomes collect in ``done``."""

    def __init__(self, writer: BackgroundWriter) -> None:
        self.writer = writer
        self.in_flight: tuple[int, _ReportWork, PendingWrite] | None = None
        self.done: list[Outcome] = []
        self.seen = DevicesSeen()

    def start(self, position: int, work: _ReportWork) -> None:
        """Queue ``work``'s write behind the one in flight, then wait for that one and acknowledge it while
        ``work``'s runs."""
        report = work.report
        pending = self.writer.submit(
            report_id=report.pk,
            streamer_id=report.streamer_id,
            streamer_slug=report.streamer.slug,
            rows=work.rows.readings,
        )
        previous, self.in_flight = self.in_flight, (position, work, pending)
        if previous is not None:
            self._finish(previous[0], previous[1], _write_outcome(previous[2]))

    def settle(self) -> None:
        """Finish the report in flight: wait for its write, then acknowledge it."""
        previous, self.in_flight = self.in_flight, None
        if previous:
            self._finish(previous[0], previous[1], _write_outcome(previous[2]))

    def _finish(self, position: int, work: _ReportWork, written: WriteResult | Exception) -> None:
        error = _acknowledged(work, written)
        if error is None:
            self.seen.add(work.report)
        self.done.append((position, error))

    def settle_streamer(self, streamer_id: int) -> None:
        if self.in_flight and self.in_flight[1].report.streamer_id == streamer_id:
            self.settle()

    def outcomes(self) -> Iterator[Outcome]:
        while self.done:
            yield self.done.pop(0)


def _write_outcome(pending: PendingWrite) -> WriteResult | Exception:
    try:
        return pending.result()
    except Exception as exc:
        return exc


# The device's OS (0x5c08) and app (0x5c09) version streams: the OTA app keeps the device's versions from them and
# confirms deployments by the device's own data (docs/updates.md).
VERSION_STREAMS = frozenset((0x5C08, 0x5C09))


def _versions_reported(work: _ReportWork) -> None:
    """Hand the report's version readings, if any, to the OTA app's ``DeviceVersionsUpdate`` action. It runs
    before the acknowledgement, so a crash in between enqueues them again on the retry (the action is idempotent)."""
    readings = work.prepared.readings
    if VERSION_STREAMS.isdisjoint(readings.streams):
        return
    versions = [
        [reading.stream, reading.int_value, reading.reading_id, reading.timestamp.isoformat()]
        for reading in (readings[i] for i, lid in enumerate(readings.streams) if lid in VERSION_STREAMS)
    ]
    enqueue("DeviceVersionsUpdate", {"device_id": work.report.streamer.device_id, "readings": versions})


def _acknowledged(work: _ReportWork, written: WriteResult | Exception) -> Exception | None:
    if isinstance(written, Exception):
        return written
    try:
        _versions_reported(work)
        _acknowledge(
            report=work.report,
            prepared=work.prepared,
            rows=work.rows,
            written=written,
            streams=work.streams,
            filters=work.filters,
        )
    except Exception as exc:
        return exc
    return None


def streamer_reports_process(*, report_ids: Sequence[str]) -> Iterator[Outcome]:
    """Turn stored reports into stream data and events (the ``ProcessReport`` action, a batch at a time).

    Yields ``(position, error)`` for each report of ``report_ids`` once it is done: ``None`` when it is stored and
    acknowledged (or had succeeded before), else the error: ReportProcessingError (the report is marked failed; no
    retry can help), or whatever outage stopped it (worth a retry). One report's failure does not
    stop the others.

    Reports go through a pipeline: a report's rows are written (see ``writer``) in a background thread while the
    next report is read, parsed and mapped, and the previous one acknowledged, so the database's work on the rows
    overlaps the worker's own. Each report keeps its own streamdata transaction and acknowledgement, so any report
    is safe to run again at any point (a retry after a crash, a duplicate delivery), and a report that succeeded is
    left alone. Closing the generator early cancels the write in flight (it rolls back).
    """
    ids = [_as_uuid(report_id) for report_id in report_ids]
    # Their messages were delivered: the stalled-report sweep leaves them alone (housekeeping.py).
    StreamerReport.objects.filter(pk__in=[i for i in ids if i], status=ReportStatus.SCHEDULED).update(
        message_seen_on=Now()
    )
    reports = StreamerReport.objects.select_related(f"streamer__device__project__{PROJECT_REVISION}").in_bulk(
        [i for i in ids if i]
    )
    known_streams: dict[int, dict[int, StreamId]] = {}
    # The batch's stream filters: no query while this process holds its projects' current filter revisions.
    filters = active_filters(projects={report.streamer.device.project for report in reports.values()})
    with BackgroundWriter() as writer:
        pipeline = _Pipeline(writer)
        for position, (report_id, pk) in enumerate(zip(report_ids, ids, strict=True)):
            report = reports.get(pk)
            try:
                if report is None:
                    raise ReportProcessingError(f"report {report_id} does not exist")
                work = _load(report, pipeline.settle_streamer, known_streams, filters)
            except Exception as exc:
                pipeline.done.append((position, exc))
            else:
                if work is None:
                    pipeline.done.append((position, None))
                else:
                    pipeline.start(position, work)
            yield from pipeline.outcomes()
        pipeline.settle()
        pipeline.seen.send()
        yield from pipeline.outcomes()


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def streamer_report_process(*, report_id: str) -> None:
    """Process one report (see :func:`streamer_reports_process`); raises its error."""
    for _position, error in streamer_reports_process(report_ids=[report_id]):
        if error is not None:
            raise error
