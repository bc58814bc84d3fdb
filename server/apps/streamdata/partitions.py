"""Monthly range partitions of the time-series tables (docs/retention.md).

``streamdata_streamdata`` is partitioned by ``timestamp``: one partition per calendar month (UTC), named
``<table>_pYYYYMM``, and a DEFAULT partition ``<table>_default`` that takes whatever no monthly partition covers (a
reading from a far past or future clock, a NULL timestamp), so an insert never fails for want of a partition and
ingest never runs DDL. The worker's scheduler keeps the partitions of this month and the next ``MONTHS_AHEAD``
in place and moves the rows of any month found in the DEFAULT partition into a partition of their own
(``partitions_ensure``); retention drops whole partitions (``partition_drop``).

A partition's bounds are read from its name, never parsed from the catalogue's text.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

MONTHS_AHEAD = 2
# At most this many months are moved out of the DEFAULT partition per run: a clock gone wild cannot make one run
# create hundreds of partitions (the rest follow on the next runs).
DEFAULT_SPLIT_LIMIT = 24
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
    cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {default}")
    cursor.execute(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM (%s) TO (%s)", bounds)
    cursor.execute(
        f"WITH moved AS (DELETE FROM {default} WHERE timestamp >= %s AND timestamp < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        bounds,
    )
    cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {default} DEFAULT")
    return True


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
