"""The write path: a report's readings into the streamdata database, exactly once.

One transaction on the streamdata database holds:

1. a per-streamer advisory lock, so one streamer's reports are written one at a time;
2. a look for the report's :class:`IngestedReport` mark: when it is there, an earlier attempt committed the rows and
   only the bookkeeping in the default database is left to do;
3. the rows, by one of two paths:

   - **fast**: ``COPY`` straight into the table;
   - **conflict-safe**: ``COPY`` into a temporary table, then ``INSERT … SELECT … ON CONFLICT DO NOTHING`` on the
     unique index (series, streamer id), counting what went in.

   The fast path is taken unless a cheap probe finds a stored reading with the same stream and an id in the
   report's range (an overlapping report, a re-upload); if the fast path still meets a duplicate (a reading stored
   meanwhile by a process that does not take the streamer's lock) the transaction is rolled back and run again on
   the conflict-safe path;
4. the rows, and only those actually inserted, added to the series' roll-ups
   (``streamdata.services.rollup_upsert_sql``): on the fast path from the stored rows of the report's series in its id
   range (nothing else is there: the probe said so, and the unique index would have refused a doubled reading), on
   the conflict-safe path from the ``RETURNING`` of the insert, in the same statement. Readings without an id (0),
   which that id range cannot single out, always take the conflict-safe path;
5. the report's mark, with the figures.

Whatever point a crash interrupts, the transaction either committed (rows and mark) or left nothing, so a retry
stores exactly the right rows.

:class:`BackgroundWriter` runs these writes in threads of their own, so the worker can read and parse the next
report, and acknowledge the previous one, while the server takes in this one's ``COPY`` (psycopg2 lets go of the
interpreter while it waits on the socket; the server's work is most of a report's time). A large report is written in
parts side by side on several connections; each part is a transaction as above, with its own mark, so a crash
between the parts' commits leaves the retry only the parts that did not commit.
"""

from __future__ import annotations

import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction

from server.apps.streamdata.models import StreamData
from server.apps.streamdata.services import rollup_upsert_sql, stream_data_claims_sql
from server.apps.streamer.copy_rows import COPY_COLUMNS, ChunkReader, CopyRows
from server.apps.streamer.models import IngestedReport

# The first key of the two-key advisory lock is this plus the part; the second is the streamer's id.
STREAMER_LOCK_NAMESPACE = 0x5354  # "ST"
COPY_READ_SIZE = 1 << 20
# A report of at least this many rows is written in parts side by side, one per connection
# (STREAMDATA_WRITE_CONNECTIONS): PostgreSQL runs a COPY on one core, so two run in about two thirds of the time.
# Below it the second transaction's commit costs more than it saves.
PARALLEL_WRITE_MIN_ROWS = 4000


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


def _lock_then_look(cursor, streamer_id: int, report_id, part: int, rows: CopyRows) -> tuple[bool, bool]:
    """Take the streamer's lock for this part and claim the part's id range in each of its series, then say whether
    the part's mark is there and whether a stored reading of its streams has an id in its range (an index probe).
    The look takes its snapshot after the lock and the claims are granted, so it sees what the previous holder
    committed, whatever part of whatever report of the streamer it wrote."""
    claims, claim_params = stream_data_claims_sql(
        claims=[(series, rows.first_id or 1, rows.last_id) for series in rows.series_ids()] if rows.last_id else []
    )
    cursor.execute(
        f"SELECT pg_advisory_xact_lock(%s, %s); {claims}"
        f"SELECT EXISTS (SELECT 1 FROM {IngestedReport._meta.db_table} WHERE report_id = %s AND part = %s), "
        f"EXISTS (SELECT 1 FROM {_table()} WHERE series = ANY(%s) AND streamer_local_id > 0 "
        "AND streamer_local_id BETWEEN %s AND %s)",
        [
            STREAMER_LOCK_NAMESPACE + part,
            streamer_id & 0x7FFFFFFF,
            *claim_params,
            report_id,
            part,
            rows.series_ids(),
            rows.first_id or 1,
            rows.last_id,
        ],
    )
    return cursor.fetchone()


def _copy_skipping_conflicts(cursor, rows: CopyRows) -> tuple[int, int, int]:
    """The conflict-safe path; returns (rows inserted, lowest and highest id inserted). A reading is skipped when
    its series already holds its id, whatever the stored row's time (the readings of the series in the part's id
    range are read once, from every partition), and when it repeats in the part."""
    columns = _columns()
    cursor.execute(
        # Dropped at the commit; a transaction that writes twice this way (inside a test's) starts afresh.
        "DROP TABLE IF EXISTS streamdata_incoming; "
        f"CREATE TEMP TABLE streamdata_incoming ON COMMIT DROP AS SELECT {columns} FROM {_table()} WITH NO DATA"
    )
    _copy(cursor, "streamdata_incoming", rows)
    cursor.execute(
        f"WITH stored AS MATERIALIZED (SELECT series, streamer_local_id FROM {_table()} WHERE series = ANY(%s) "
        "AND streamer_local_id > 0 AND streamer_local_id BETWEEN %s AND %s), "
        f"inserted AS (INSERT INTO {_table()} ({columns}) SELECT DISTINCT ON (new.series, "
        "CASE WHEN new.streamer_local_id > 0 THEN new.streamer_local_id ELSE -new.ctid_order END) "
        f"{', '.join(f'new.{column}' for column in COPY_COLUMNS)} "
        "FROM (SELECT *, row_number() OVER () AS ctid_order FROM streamdata_incoming) AS new "
        "WHERE new.streamer_local_id = 0 OR NOT EXISTS (SELECT 1 FROM stored WHERE stored.series = new.series "
        "AND stored.streamer_local_id = new.streamer_local_id) "
        # The partial unique index streamdata_unique_series_reading.
        "ON CONFLICT (series, streamer_local_id, timestamp) WHERE streamer_local_id > 0 DO NOTHING "
        f"RETURNING series, timestamp, value, streamer_local_id), rolled_up AS ({rollup_upsert_sql('inserted')}) "
        "SELECT count(*), coalesce(min(streamer_local_id) FILTER (WHERE streamer_local_id > 0), 0), "
        "coalesce(max(streamer_local_id), 0) FROM inserted",
        [rows.series_ids(), rows.first_id or 1, rows.last_id],
    )
    return cursor.fetchone()


def _roll_up_copied_sql(rows: CopyRows) -> tuple[str, list]:
    """Add the rows the fast path has just copied to the roll-ups: the report's series in its id range."""
    copied = (
        f"(SELECT series, timestamp, value FROM {_table()} WHERE series = ANY(%s) AND streamer_local_id > 0 "
        "AND streamer_local_id BETWEEN %s AND %s)"
    )
    return rollup_upsert_sql(copied), [rows.series_ids(), rows.first_id, rows.last_id]


class _FastPathConflict(Exception):
    """The straight COPY met a reading stored meanwhile; its transaction is rolled back."""


def streamdata_write(*, report_id, streamer_id: int, streamer_slug: str, rows: CopyRows, part: int = 0) -> WriteResult:
    """Store a report's readings (or one part of them) and the mark in one streamdata transaction (see the module's
    docstring)."""
    try:
        return _write(report_id, part, streamer_id, streamer_slug, rows, fast=True)
    except _FastPathConflict:
        return _write(report_id, part, streamer_id, streamer_slug, rows, fast=False)


def _write(report_id, part: int, streamer_id: int, streamer_slug: str, rows: CopyRows, *, fast: bool) -> WriteResult:
    alias = router.db_for_write(StreamData)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        written, may_conflict = _lock_then_look(cursor, streamer_id, report_id, part, rows)
        if written:
            mark = IngestedReport.objects.using(alias).get(report_id=report_id, part=part)
            return WriteResult(
                mark.new_reading_count, mark.duplicate_reading_count, mark.first_id, mark.last_id, already_written=True
            )
        if not len(rows):
            result = WriteResult(0, 0, 0, 0)
            cursor.execute(*_mark_sql(report_id, part, streamer_slug, result))
        elif fast and not may_conflict and not rows.unnumbered and not rows.repeats_an_id:
            try:
                _copy(cursor, _table(), rows)
            except IntegrityError as exc:
                # Leaving the block rolls the transaction back (lock included); the caller starts again.
                raise _FastPathConflict from exc
            result = WriteResult(len(rows), 0, rows.first_id, rows.last_id)
            # The roll-ups and the mark in one round trip.
            rollup, rollup_params = _roll_up_copied_sql(rows)
            marking, marking_params = _mark_sql(report_id, part, streamer_slug, result)
            cursor.execute(f"{rollup}; {marking}", [*rollup_params, *marking_params])
        else:
            inserted, first_id, last_id = _copy_skipping_conflicts(cursor, rows)
            result = WriteResult(inserted, len(rows) - inserted, first_id, last_id, conflict_path=True)
            cursor.execute(*_mark_sql(report_id, part, streamer_slug, result))
    return result


def _mark_sql(report_id, part: int, streamer_slug: str, result: WriteResult) -> tuple[str, list]:
    """The part's :class:`IngestedReport` mark, as one plain statement (no model instance per part)."""
    columns = (
        "id, report_id, part, streamer_slug, new_reading_count, duplicate_reading_count, first_id, last_id, created_on"
    )
    return (
        f"INSERT INTO {IngestedReport._meta.db_table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())",
        [
            uuid.uuid4(),
            report_id,
            part,
            streamer_slug,
            result.new_reading_count,
            result.duplicate_reading_count,
            result.first_id,
            result.last_id,
        ],
    )


def combined(results: list[WriteResult]) -> WriteResult:
    """One report's figures from those of its parts."""
    first_ids = [result.first_id for result in results if result.first_id]
    return WriteResult(
        new_reading_count=sum(result.new_reading_count for result in results),
        duplicate_reading_count=sum(result.duplicate_reading_count for result in results),
        first_id=min(first_ids, default=0),
        last_id=max((result.last_id for result in results), default=0),
        conflict_path=any(result.conflict_path for result in results),
        already_written=all(result.already_written for result in results),
    )


class PendingWrite:
    """A report's write in flight: the futures of its parts."""

    def __init__(self, futures: list[Future[WriteResult]]) -> None:
        self.futures = futures

    def done(self) -> bool:
        return all(future.done() for future in self.futures)

    def result(self) -> WriteResult:
        """Wait for every part; raise the first part's error if any failed (the parts that committed have their
        marks, so the retry writes only the others), else the report's figures."""
        wait(self.futures)
        for future in self.futures:
            error = future.exception()
            if error is not None:
                raise error
        return combined([future.result() for future in self.futures])


# The extra streamdata connections of this process, kept between batches as Django keeps its own (CONN_MAX_AGE).
_extra_connections: dict[str, list] = {}


def _write_connections(alias: str, count: int) -> list:
    """The caller's connection, then ``count - 1`` extra ones of this process (made on first use)."""
    extra = _extra_connections.setdefault(alias, [])
    while len(extra) < count - 1:
        extra.append(connections.create_connection(alias))
    for connection in extra[: count - 1]:
        connection.close_if_unusable_or_obsolete()
    return [connections[alias], *extra[: count - 1]]


def write_connections_check() -> str:
    """Open (or keep) this process's write connections and have each answer the write path's look for a mark and a
    stored reading (of no report and no series): the worker's self-test. Each connection's server process then has
    the tables and their monthly partitions at hand, which the first report's write otherwise waited for (10 to 20
    ms a connection)."""
    alias = router.db_for_write(StreamData)
    writers = _write_connections(alias, max(1, settings.STREAMDATA_WRITE_CONNECTIONS))
    for connection in writers:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {IngestedReport._meta.db_table} WHERE report_id = %s AND part = 0), "
                f"EXISTS (SELECT 1 FROM {_table()} WHERE series = ANY(%s) AND streamer_local_id > 0 "
                "AND streamer_local_id BETWEEN 1 AND 0)",
                [uuid.UUID(int=0), []],
            )
    return f"{len(writers)} streamdata write connection(s) answer"


def close_write_connections() -> None:
    """Close this process's extra write connections (a test dropping its database, a worker shutting down)."""
    for extra in _extra_connections.values():
        for connection in extra:
            connection.close()
    _extra_connections.clear()


class BackgroundWriter:
    """Runs a report's :func:`streamdata_write` in threads of their own, one thread per write connection (a *lane*):
    the caller's streamdata connection (its transaction state included, so a test's transaction holds it too), and
    extra connections of this process. A report of at least ``PARALLEL_WRITE_MIN_ROWS`` rows is cut into
    ``STREAMDATA_WRITE_CONNECTIONS`` parts written side by side, one per lane; a smaller one goes to the lane with
    the least rows queued. Each part is its own transaction with its own mark. A report submitted while another is
    being written queues its parts behind that one's, lane by lane, so a lane that finishes its part starts the next
    report's at once instead of waiting for the other lanes. While writes are in flight the caller must not use its
    streamdata connection; leaving the block on an error cancels the writes in flight (they roll back) and the
    queued ones, and waits for them.

    Use::

        with BackgroundWriter() as writer:
            pending = writer.submit(report_id=..., streamer_id=..., streamer_slug=..., rows=...)
            ...  # other work, on other connections; submit the next report
            result = pending.result()
    """

    def __init__(self) -> None:
        self.alias = router.db_for_write(StreamData)
        self.connections = _write_connections(self.alias, max(1, settings.STREAMDATA_WRITE_CONNECTIONS))
        self._lanes: list[ThreadPoolExecutor] = []
        # The parts submitted and not written yet: (lane, rows, future).
        self._parts: list[tuple[int, int, Future[WriteResult]]] = []

    def __enter__(self) -> BackgroundWriter:
        for connection in self.connections:
            connection.inc_thread_sharing()
        self._lanes = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"streamdata-writer-{lane}")
            for lane in range(len(self.connections))
        ]
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is not None and not all(future.done() for _, _, future in self._parts):
                for _, _, future in self._parts:
                    future.cancel()  # a part not started yet never starts
                self._cancel()
            for lane in self._lanes:
                lane.shutdown(wait=True, cancel_futures=True)
        finally:
            for connection in self.connections:
                connection.dec_thread_sharing()

    def submit(self, *, rows: CopyRows, **write) -> PendingWrite:
        """Queue the report's write behind those in flight; its figures (or error) come from the returned
        :class:`PendingWrite`."""
        assert self._lanes, "submit() is called inside the writer's with block"
        self._parts = [part for part in self._parts if not part[2].done()]
        if len(rows) >= PARALLEL_WRITE_MIN_ROWS:
            lanes = list(range(len(self._lanes)))
            parts = rows.split(len(lanes))
        else:
            queued = [0] * len(self._lanes)
            for lane, size, _ in self._parts:
                queued[lane] += size
            lanes, parts = [min(range(len(self._lanes)), key=queued.__getitem__)], [rows]
        futures = []
        for number, (lane, part) in enumerate(zip(lanes, parts, strict=False)):
            future = self._lanes[lane].submit(self._write, lane, {**write, "part": number, "rows": part})
            self._parts.append((lane, len(part), future))
            futures.append(future)
        return PendingWrite(futures)

    def _write(self, lane: int, write: dict) -> WriteResult:
        connections[self.alias] = self.connections[lane]  # this thread's handle on its lane's connection
        return streamdata_write(**write)

    def _cancel(self) -> None:
        """Ask the server to stop the statements in flight (psycopg2's cancel is safe from another thread)."""
        for connection in self.connections:
            raw = connection.connection
            if raw is not None and not raw.closed:
                try:
                    raw.cancel()
                except Exception:  # the connection broke: its write fails on its own
                    pass
