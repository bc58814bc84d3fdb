"""Monthly range partitions of the time-series tables (docs/retention.md).

``streamdata_streamdata`` (on the streamdata database) and ``streamevent_streameventdata`` (on the default one) are
partitioned by ``timestamp``: one partition per calendar month (UTC), named
``<table>_pYYYYMM``, and a DEFAULT partition ``<table>_default`` that takes whatever no monthly partition covers (a
reading from a far past or future clock, a NULL timestamp), so an insert never fails for want of a partition and
ingest never runs DDL. The worker's scheduler keeps the partitions of this month and the next ``MONTHS_AHEAD``
in place and moves the rows of any month found in the DEFAULT partition into a partition of their own
(``partitions_ensure``); retention drops whole partitions and deletes the expired rows of the others
(``partitions_retention_apply``).

A partition's bounds are read from its name, never parsed from the catalogue's text.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, transaction

MONTHS_AHEAD = 2
# At most this many months are moved out of the DEFAULT partition per run: a clock gone wild cannot make one run
# create hundreds of partitions (the rest follow on the next runs).
DEFAULT_SPLIT_LIMIT = 24
# Retention waits at most this long for the locks a partition's drop needs (a long read holding them): it would
# otherwise queue every write behind it. The next run tries again.
RETENTION_LOCK_TIMEOUT = "5s"
# Months outside these years stay in the DEFAULT partition (a clock gone wild; a partition's name holds a
# four-digit year).
SPLIT_RANGE = (
    datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC),
    datetime.datetime(9000, 1, 1, tzinfo=datetime.UTC),
)


@dataclass(frozen=True)
class Partition:
    name: str
    month: datetime.datetime | None  # None: the DEFAULT partition

    @property
    def lower(self) -> datetime.datetime | None:
        return self.month

    @property
    def upper(self) -> datetime.datetime | None:
        return next_month(self.month) if self.month else None


def month_start(moment: datetime.datetime) -> datetime.datetime:
    moment = moment.astimezone(datetime.UTC)
    return datetime.datetime(moment.year, moment.month, 1, tzinfo=datetime.UTC)


def next_month(month: datetime.datetime) -> datetime.datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def partition_name(table: str, month: datetime.datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def partitions_list(cursor, table: str) -> list[Partition]:
    """The table's partitions, monthly ones in time order, then the DEFAULT one."""
    cursor.execute(
        "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
        "WHERE pg_inherits.inhparent = %s::regclass",
        [table],
    )
    monthly, default = [], []
    prefix = f"{table}_p"
    for (name,) in cursor.fetchall():
        if name == default_partition_name(table):
            default.append(Partition(name, None))
        elif name.startswith(prefix):
            month = datetime.datetime.strptime(name[len(prefix) :], "%Y%m").replace(tzinfo=datetime.UTC)
            monthly.append(Partition(name, month))
    return sorted(monthly, key=lambda partition: partition.month or 0) + default


def partition_create(cursor, table: str, month: datetime.datetime) -> bool:
    """Create the partition of ``month`` if it is missing; returns whether it was created. Rows of that month already
    in the DEFAULT partition move into it, in the caller's transaction (PostgreSQL refuses a new partition while the
    DEFAULT one holds rows of its range)."""
    name, default = partition_name(table, month), default_partition_name(table)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return False
    bounds = [month, next_month(month)]
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE timestamp >= %s AND timestamp < %s)", bounds)
    if not cursor.fetchone()[0]:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM (%s) TO (%s)", bounds)
        return True
    # A table with a deferred foreign key (the events' organisation) cannot be altered while checks of rows written
    # in this transaction wait for the commit: they run now, and the moved rows are checked as they move.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {default}")
    cursor.execute(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM (%s) TO (%s)", bounds)
    cursor.execute(
        f"WITH moved AS (DELETE FROM {default} WHERE timestamp >= %s AND timestamp < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        bounds,
    )
    default_partition_truncate_if_empty(cursor, table)
    cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {default} DEFAULT")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return True


def default_partition_truncate_if_empty(cursor, table: str) -> bool:
    """Truncate the DEFAULT partition when no row is left in it, so the space of the rows deleted or moved out of it
    goes back to the file system at the commit, its indexes' too (deleted rows leave a table as large as before, and
    a vacuum never shrinks an index). The caller holds the locks that keep rows from coming in meanwhile."""
    default = default_partition_name(table)
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {default})")
    if cursor.fetchone()[0]:
        return False
    cursor.execute(f"TRUNCATE {default}")
    return True


def table_partition_in_place(cursor, table: str, *, now: datetime.datetime) -> None:
    """Convert ``table`` (a plain table whose ``id`` is an identity column) into one partitioned by month of
    ``timestamp``, its rows kept: a partition per month that has rows, this month and the next ``MONTHS_AHEAD``, and
    the DEFAULT partition; ``id`` takes its values from a sequence owned by the column, continuing the old ones.
    Indexes and constraints are the caller's to make afterwards (the old ones go with the old table). For the
    migrations that partition a table."""
    old, sequence = f"{table}_unpartitioned", f"{table}_id_seq"
    cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
    cursor.execute(f"CREATE SEQUENCE {table}_row_seq")
    cursor.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (timestamp)")
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_row_seq')")
    cursor.execute(f"CREATE TABLE {default_partition_name(table)} PARTITION OF {table} DEFAULT")
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', timestamp AT TIME ZONE 'UTC') FROM {old} WHERE timestamp IS NOT NULL"
    )
    months = {month.replace(tzinfo=datetime.UTC) for (month,) in cursor.fetchall()}
    months.update(months_between(now, now + datetime.timedelta(days=31 * MONTHS_AHEAD))[: MONTHS_AHEAD + 1])
    for month in sorted(months):
        partition_create(cursor, table, month)
    cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    cursor.execute(f"SELECT setval('{table}_row_seq', coalesce(max(id), 0) + 1, false) FROM {old}")
    cursor.execute(f"DROP TABLE {old}")
    cursor.execute(f"ALTER SEQUENCE {table}_row_seq RENAME TO {sequence}")
    cursor.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")


def months_between(first: datetime.datetime, last: datetime.datetime) -> list[datetime.datetime]:
    """The starts of the months from ``first``'s to ``last``'s, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def partitions_ensure(cursor, table: str, *, now: datetime.datetime, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """The partitions of this month and the next ``months_ahead``, and of the months that have rows in the DEFAULT
    partition (up to ``DEFAULT_SPLIT_LIMIT`` of them); returns the names created."""
    months = months_between(now, now + datetime.timedelta(days=31 * months_ahead))[: months_ahead + 1]
    cursor.execute(
        "SELECT DISTINCT date_trunc('month', timestamp AT TIME ZONE 'UTC') AS month "
        f"FROM {default_partition_name(table)} WHERE timestamp >= %s AND timestamp < %s ORDER BY month LIMIT %s",
        [*SPLIT_RANGE, DEFAULT_SPLIT_LIMIT],
    )
    months.extend(month.replace(tzinfo=datetime.UTC) for (month,) in cursor.fetchall())
    return [partition_name(table, month) for month in sorted(set(months)) if partition_create(cursor, table, month)]


def partitions_disk_bytes(*, alias: str, table: str) -> int:
    """What ``table``'s partitions hold on disk: their tables, indexes and TOAST, summed."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = %s::regclass",
            [table],
        )
        return int(cursor.fetchone()[0])


def partition_drop(cursor, table: str, partition: Partition) -> None:
    """Drop a monthly partition and everything in it: its files go back to the file system at the commit."""
    assert partition.month is not None, "the DEFAULT partition is never dropped"
    cursor.execute(f"DROP TABLE {partition.name}")


def partition_series(cursor, partition: Partition) -> list[int]:
    """The distinct series with rows in the partition: a skip scan of its ``(series, timestamp)`` index, one index
    probe per series rather than a read of every row."""
    cursor.execute(
        "WITH RECURSIVE found AS ("
        f"(SELECT series FROM {partition.name} ORDER BY series LIMIT 1) UNION ALL "
        f"SELECT (SELECT next.series FROM {partition.name} AS next WHERE next.series > found.series "
        "ORDER BY next.series LIMIT 1) FROM found WHERE found.series IS NOT NULL) "
        "SELECT series FROM found WHERE series IS NOT NULL"
    )
    return [series for (series,) in cursor.fetchall()]


# Called in the transaction that removes rows of a partition, before they go: the partition, then the condition (SQL
# and its parameters) that selects the rows going, ``true`` when the whole partition is dropped.
Removing = Callable[[Any, Partition, str, list[Any]], None]


@dataclass(frozen=True)
class RetentionResult:
    partitions_dropped: list[str] = field(default_factory=list)
    rows_deleted: int = 0


def partitions_retention_apply(
    *, alias: str, table: str, cutoffs: dict[int, datetime.datetime], removing: Removing
) -> RetentionResult:
    """Remove the rows of ``table`` (on the database ``alias``) older than their series' cutoff; a series not in
    ``cutoffs`` is kept.

    A monthly partition all of whose rows are past their cutoff is dropped whole: its files go back to the file system
    at once. In the others (a month that straddles a cutoff, a month that also holds rows of a series keeping more,
    the DEFAULT partition) the expired rows are deleted. Each partition is one transaction, ``removing`` (the
    table's own bookkeeping: roll-ups, payload files) in it, so a crash leaves a partition whole or done."""
    if not cutoffs:
        return RetentionResult()
    latest = max(cutoffs.values())
    dropped, deleted = [], 0
    with connections[alias].cursor() as cursor:
        partitions = partitions_list(cursor, table)
    for partition in partitions:
        if partition.lower is not None and partition.lower >= latest:
            continue  # nothing in it is old enough for any series
        if _partition_drop_if_expired(alias, table, partition, cutoffs, removing):
            dropped.append(partition.name)
            continue
        by_cutoff: dict[datetime.datetime, list[int]] = {}
        for series, cutoff in cutoffs.items():
            if partition.lower is None or cutoff > partition.lower:
                by_cutoff.setdefault(cutoff, []).append(series)
        if not by_cutoff:
            continue
        conditions: list[str] = []
        params: list[Any] = []
        for cutoff, expired in sorted(by_cutoff.items()):
            conditions.append("(series = ANY(%s) AND timestamp < %s)")
            params.extend([sorted(expired), cutoff])
        condition = " OR ".join(conditions)
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            removing(cursor, partition, condition, params)
            cursor.execute(f"DELETE FROM {partition.name} WHERE {condition}", params)
            removed = cursor.rowcount
        deleted += removed
        if partition.month is None and removed:
            # The DEFAULT partition is never dropped: emptied, it is truncated, under the locks a drop takes (a row
            # that came in meanwhile keeps it), so readings written with old clocks free their disk too.
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{RETENTION_LOCK_TIMEOUT}'")
                cursor.execute(f"LOCK TABLE {table}, {partition.name} IN ACCESS EXCLUSIVE MODE")
                default_partition_truncate_if_empty(cursor, table)
    return RetentionResult(dropped, deleted)


def _partition_drop_if_expired(
    alias: str, table: str, partition: Partition, cutoffs: dict[int, datetime.datetime], removing: Removing
) -> bool:
    """Drop a monthly partition when every row in it is expired; one transaction. Looked at first without a lock,
    then again under the locks the drop needs (the parent's first, as an insert takes them): a row of a series that
    keeps its data may have come in meanwhile."""
    if partition.upper is None:
        return False
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        if not _partition_expired(cursor, partition, cutoffs):
            return False
        cursor.execute(f"SET LOCAL lock_timeout = '{RETENTION_LOCK_TIMEOUT}'")
        cursor.execute(f"LOCK TABLE {table}, {partition.name} IN ACCESS EXCLUSIVE MODE")
        if not _partition_expired(cursor, partition, cutoffs):
            return False
        removing(cursor, partition, "true", [])
        partition_drop(cursor, table, partition)
    return True


def _partition_expired(cursor, partition: Partition, cutoffs: dict[int, datetime.datetime]) -> bool:
    """Whether the partition has rows and every one of them is past its series' cutoff."""
    assert partition.upper is not None
    series = partition_series(cursor, partition)
    return bool(series) and all(each in cutoffs and cutoffs[each] >= partition.upper for each in series)
