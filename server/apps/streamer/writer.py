"""The write path: a report's readings into the streamdata database, exactly once.

One transaction on the streamdata database holds:

1. a per-streamer advisory lock, so one streamer's reports are written one at a time;
2. a look for the report's :class:`IngestedReport` mark: when it is there, an earlier attempt committed the rows and
   only the bookkeeping in the default database is left to do;
3. the rows, by one of two paths:

   - **fast**: ``COPY`` straight into the table;
   - **conflict-safe**: ``COPY`` into a temporary table, then ``INSERT … SELECT … ON CONFLICT DO NOTHING`` on the
     unique index (stream, streamer id), counting what went in.

   The fast path is taken unless a cheap probe finds a stored reading with the same stream and an id in the
   report's range (an overlapping report, a re-upload); if the fast path still meets a duplicate (a reading stored
   meanwhile by a process that does not take the streamer's lock) the transaction is rolled back and run again on
   the conflict-safe path;
4. the report's mark, with the figures.

Whatever point a crash interrupts, the transaction either committed (rows and mark) or left nothing, so a retry
stores exactly the right rows.

:class:`BackgroundWriter` runs these writes in a thread of their own, so the worker can read and parse the next
report, and acknowledge the previous one, while the server takes in this one's ``COPY`` (psycopg2 lets go of the
interpreter while it waits on the socket; the server's work is most of a report's time).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.db import IntegrityError, connections, router, transaction

from server.apps.streamdata.models import StreamData
from server.apps.streamer.copy_rows import COPY_COLUMNS, ChunkReader, CopyRows
from server.apps.streamer.models import IngestedReport

# The first key of the two-key advisory lock; the second is the streamer's id.
STREAMER_LOCK_NAMESPACE = 0x5354  # "ST"
COPY_READ_SIZE = 1 << 20


@dataclass(frozen=True)
class WriteResult:
    new_reading_count: int
    duplicate_reading_count: int
    first_id: int
    last_id: int
    conflict_path: bool = False
    already_written: bool = False


def _table() -> str:
    return StreamData._meta.db_table


def _columns() -> str:
    return ", ".join(COPY_COLUMNS)


def _copy(cursor, table: str, rows: CopyRows) -> int:
    sql = f"COPY {table} ({_columns()}) FROM STDIN WITH (FORMAT binary)"
    # Django's error types (IntegrityError, OperationalError) rather than the driver's, as for any other query.
    with cursor.db.wrap_database_errors:
        cursor.copy_expert(sql, ChunkReader(rows.chunks()), COPY_READ_SIZE)
    return cursor.rowcount


def _lock_then_look(cursor, streamer_id: int, report_id, rows: CopyRows) -> tuple[bool, bool]:
    """Take the streamer's lock, then say whether the report's mark is there and whether a stored reading of its
    streams has an id in its range (an index probe). One round trip: two statements, and the second takes its
    snapshot after the lock is granted, so it sees what the previous holder committed."""
    cursor.execute(
        "SELECT pg_advisory_xact_lock(%s, %s); "
        f"SELECT EXISTS (SELECT 1 FROM {IngestedReport._meta.db_table} WHERE report_id = %s), "
        f"EXISTS (SELECT 1 FROM {_table()} WHERE stream_slug = ANY(%s) AND streamer_local_id > 0 "
        "AND streamer_local_id BETWEEN %s AND %s)",
        [
            STREAMER_LOCK_NAMESPACE,
            streamer_id & 0x7FFFFFFF,
            report_id,
            rows.stream_slugs(),
            rows.first_id or 1,
            rows.last_id,
        ],
    )
    return cursor.fetchone()


def _copy_skipping_conflicts(cursor, rows: CopyRows) -> tuple[int, int, int]:
    """The conflict-safe path; returns (rows inserted, lowest and highest id inserted)."""
    columns = _columns()
    cursor.execute(
        f"CREATE TEMP TABLE streamdata_incoming ON COMMIT DROP AS SELECT {columns} FROM {_table()} WITH NO DATA"
    )
    _copy(cursor, "streamdata_incoming", rows)
    cursor.execute(
        f"WITH inserted AS (INSERT INTO {_table()} ({columns}) SELECT {columns} FROM streamdata_incoming "
        # The partial unique index streamdata_unique_stream_reading.
        "ON CONFLICT (stream_slug, streamer_local_id) WHERE streamer_local_id > 0 DO NOTHING "
        "RETURNING streamer_local_id) "
        "SELECT count(*), coalesce(min(streamer_local_id) FILTER (WHERE streamer_local_id > 0), 0), "
        "coalesce(max(streamer_local_id), 0) FROM inserted"
    )
    return cursor.fetchone()


class _FastPathConflict(Exception):
    """The straight COPY met a reading stored meanwhile; its transaction is rolled back."""


def streamdata_write(*, report_id, streamer_id: int, streamer_slug: str, rows: CopyRows) -> WriteResult:
    """Store the report's readings and its mark in one streamdata transaction (see the module's docstring)."""
    try:
        return _write(report_id, streamer_id, streamer_slug, rows, fast=True)
    except _FastPathConflict:
        return _write(report_id, streamer_id, streamer_slug, rows, fast=False)


def _write(report_id, streamer_id: int, streamer_slug: str, rows: CopyRows, *, fast: bool) -> WriteResult:
    alias = router.db_for_write(StreamData)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        written, may_conflict = _lock_then_look(cursor, streamer_id, report_id, rows)
        if written:
            mark = IngestedReport.objects.using(alias).get(report_id=report_id)
            return WriteResult(
                mark.new_reading_count, mark.duplicate_reading_count, mark.first_id, mark.last_id, already_written=True
            )
        conflict_path = False
        if not len(rows):
            inserted, first_id, last_id = 0, 0, 0
        elif fast and not may_conflict:
            try:
                _copy(cursor, _table(), rows)
            except IntegrityError as exc:
                # Leaving the block rolls the transaction back (lock included); the caller starts again.
                raise _FastPathConflict from exc
            inserted, first_id, last_id = len(rows), rows.first_id, rows.last_id
        else:
            conflict_path = True
            inserted, first_id, last_id = _copy_skipping_conflicts(cursor, rows)
        result = WriteResult(inserted, len(rows) - inserted, first_id, last_id, conflict_path)
        IngestedReport.objects.using(alias).create(
            report_id=report_id,
            streamer_slug=streamer_slug,
            new_reading_count=result.new_reading_count,
            duplicate_reading_count=result.duplicate_reading_count,
            first_id=first_id,
            last_id=last_id,
        )
    return result


class BackgroundWriter:
    """Runs :func:`streamdata_write` calls one at a time in a thread of their own, on the caller's streamdata
    connection (its transaction state included, so a test's transaction holds them too). While a write is in flight
    the caller must not use that connection; leaving the block on an error cancels the write in flight, which rolls
    back, and waits for it.

    Use::

        with BackgroundWriter() as writer:
            future = writer.submit(report_id=..., streamer_id=..., streamer_slug=..., rows=...)
            ...  # other work, on other connections
            result = future.result()
    """

    def __init__(self) -> None:
        self.alias = router.db_for_write(StreamData)
        self.connection = connections[self.alias]
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight: Future | None = None

    def __enter__(self) -> BackgroundWriter:
        self.connection.inc_thread_sharing()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="streamdata-writer")
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is not None and self._in_flight is not None and not self._in_flight.done():
                self._cancel()
            self._executor.shutdown(wait=True)
        finally:
            self.connection.dec_thread_sharing()

    def submit(self, **write) -> Future[WriteResult]:
        """Start ``streamdata_write(**write)``; its result (or error) comes from the returned future."""
        self._in_flight = self._executor.submit(self._write, write)
        return self._in_flight

    def _write(self, write: dict) -> WriteResult:
        connections[self.alias] = self.connection  # this thread's handle on the caller's connection
        return streamdata_write(**write)

    def _cancel(self) -> None:
        """Ask the server to stop the statement in flight (psycopg2's cancel is safe from another thread)."""
        raw = self.connection.connection
        if raw is not None and not raw.closed:
            try:
                raw.cancel()
            except Exception:  # the connection broke: the write fails on its own
                pass
