"""Retention benchmark: the disk a retention run frees, beside a plain DELETE, and what partitioning costs ingest.

    python bench/retention.py [--rows 4000000] [--events 1000000] [--series 200] [--ingest-rows 500000]

In throw-away ``bench_*`` databases (_setup.py) it registers ``--series`` streams in two projects, one keeping 90
days of data and events (nine streams in ten) and one keeping 180, and loads ``--rows`` readings spread evenly over
the year before 2026-07-15 (one ``INSERT … SELECT generate_series``, indexes rebuilt after, roll-ups built, ``VACUUM
ANALYZE``) twice:

- into ``streamdata_streamdata``, partitioned by month (migration ``streamdata`` 0005);
- into ``bench_plain``, a table with the columns and indexes the stream data had before partitioning (primary key,
  ``(series, timestamp)``, unique ``(series, streamer_local_id)``): the baseline.

Then it applies the same retention to both, as of 2026-07-15: on the partitioned table the worker's own
``stream_data_retention_apply`` (drops the months past both periods, deletes the 90-day project's rows in the months
between); on the baseline the same rows go with one ``DELETE`` per cutoff followed by a plain ``VACUUM`` (no
``VACUUM FULL``, which would lock the table for the whole rewrite). It prints, for each, rows, the table's and its
indexes' size on disk (``pg_total_relation_size`` summed over the partitions) before and after, and the time taken;
then checks that the roll-ups still equal a fresh aggregate of the rows.

Events the same way on the default database: ``--events`` events over the same year and series, without payload files
(so the figures are the table's), into ``streamevent_streameventdata`` partitioned by month (migration
``streamevent`` 0003) and into ``bench_plain_events``, shaped as before (primary key, unique uuid,
``(series, timestamp)``, unique ``(series, streamer_local_id)``); ``stream_events_retention_apply`` on the one, one
``DELETE`` per cutoff and a plain ``VACUUM`` on the other.

Ingest: ``--ingest-rows`` readings of this month, as a report of 50 streams, written (a) by ingest's write path
(``streamer.writer.streamdata_write``: lock, claims, probe, binary ``COPY``, roll-ups, mark) into the partitioned
table, (b) by the bare binary ``COPY`` of the same bytes into the partitioned table, and (c) into the baseline
table; rows per second and the ratios. The read latency is ``bench/query.py``'s to measure.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
import uuid

from _setup import bench_databases, django_setup, table

NOW = datetime.datetime(2026, 7, 15, 6, tzinfo=datetime.UTC)
FIRST = NOW - datetime.timedelta(days=365)
PLAIN = "bench_plain"
PARTITIONED = "streamdata_streamdata"
PLAIN_EVENTS = "bench_plain_events"
EVENTS = "streamevent_streameventdata"
PLAIN_INDEXES = (
    f"ALTER TABLE {PLAIN} ADD PRIMARY KEY (id)",
    f"CREATE INDEX bench_plain_series_time ON {PLAIN} (series, timestamp)",
    f"CREATE UNIQUE INDEX bench_plain_series_reading ON {PLAIN} (series, streamer_local_id) "
    "WHERE streamer_local_id > 0",
)
PLAIN_EVENT_INDEXES = (
    f"ALTER TABLE {PLAIN_EVENTS} ADD PRIMARY KEY (id)",
    f"ALTER TABLE {PLAIN_EVENTS} ADD UNIQUE (uuid)",
    f"CREATE INDEX bench_plain_events_series_time ON {PLAIN_EVENTS} (series, timestamp)",
    f"CREATE UNIQUE INDEX bench_plain_events_series_reading ON {PLAIN_EVENTS} (series, streamer_local_id) "
    "WHERE streamer_local_id > 0",
)
INGEST_WAYS = ("ingest write path → partitioned", "bare COPY → partitioned", "bare COPY → plain (baseline)")
INGEST_ROUNDS = 3
DEVICES_PER_PROJECT_SHARE = 10  # one device in ten goes to the project keeping 180 days


def register(series: int) -> tuple[dict[int, int], object]:
    """``series`` streams in two projects (90 and 180 days of data and events); returns series → days kept, and
    the organisation's id."""
    from server.apps.core.testing import make_org, make_user
    from server.apps.device.services import device_claim, device_create
    from server.apps.project.models import Project
    from server.apps.project.services import project_create
    from server.apps.stream.services import variable_create

    staff = make_user(is_staff=True)
    org = make_org(owner=staff)
    projects = []
    for days in (90, 180):
        project = project_create(org=org, name=f"Keeps {days} days", created_by=staff)
        Project.objects.filter(pk=project.pk).update(data_retention_days=days, event_retention_days=days)
        for lid in range(0x5001, 0x5006):
            variable_create(user=staff, project=project, lid=lid, name=f"Bench {lid:04x}")
        projects.append((project, days))
    kept: dict[int, int] = {}
    device_number = 0
    while len(kept) < series:
        device_number += 1
        project, days = projects[1] if device_number % DEVICES_PER_PROJECT_SHARE == 0 else projects[0]
        device = device_claim(user=staff, device=device_create(created_by=staff).slug, project=project)
        for stream in device.streams.all():
            if len(kept) < series:
                kept[stream.series] = days
    return kept, org.pk


def load(target: str, series: list[int], rows: int) -> float:
    """``rows`` readings spread evenly over the year before NOW, interleaved across the series in time order, as many
    devices' reports leave them (without the ORDER BY, PostgreSQL loops over the series outside and lays each series'
    rows together); returns seconds."""
    from django.db import connections

    per_series = rows // len(series)
    step = datetime.timedelta(days=365) / per_series
    with connections["streamdata"].cursor() as cursor:
        start = time.perf_counter()
        cursor.execute(
            f"""
            INSERT INTO {target} (series, type, device_timestamp, timestamp, streamer_local_id, int_value, value,
                status, dirty_ts)
            SELECT s, 'Num', i, %s::timestamptz + i * %s::interval, i, i %% 1000, (i %% 1000)::float8, 'cln', false
            FROM generate_series(1, %s) AS i, unnest(%s::integer[]) AS s
            ORDER BY i, s
            """,
            [FIRST, step, per_series, series],
        )
        return time.perf_counter() - start


def prepare(series: list[int], rows: int) -> None:
    from django.db import connections

    from server.apps.streamdata.partitions import months_between, partition_create
    from server.apps.streamdata.services import stream_data_rollups_rebuild

    with connections["streamdata"].cursor() as cursor:
        for month in months_between(FIRST, NOW):
            partition_create(cursor, PARTITIONED, month)
        cursor.execute(f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename = '{PARTITIONED}'")
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        seconds = load(PARTITIONED, series, rows)
        for _, definition in indexes:
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        cursor.execute(f"CREATE TABLE {PLAIN} (LIKE {PARTITIONED} INCLUDING DEFAULTS)")
        cursor.execute(f"INSERT INTO {PLAIN} SELECT * FROM {PARTITIONED}")
        for statement in PLAIN_INDEXES:
            cursor.execute(statement)
    stream_data_rollups_rebuild(series=series)
    connections["streamdata"].close()
    with connections["streamdata"].cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {PARTITIONED}")
        cursor.execute(f"VACUUM ANALYZE {PLAIN}")
    print(f"loaded {rows:,} rows over {len(series)} series in {seconds:.1f} s", file=sys.stderr, flush=True)


def prepare_events(series: list[int], count: int, org_id) -> None:
    """``count`` events spread evenly over the year before NOW, interleaved across the series in time order as the
    readings are, into the partitioned table (its indexes rebuilt after the load) and the plain one."""
    from django.db import connections

    from server.apps.streamdata.partitions import months_between, partition_create

    per_series = count // len(series)
    step = datetime.timedelta(days=365) / per_series
    with connections["default"].cursor() as cursor:
        for month in months_between(FIRST, NOW):
            partition_create(cursor, EVENTS, month)
        cursor.execute(f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename = '{EVENTS}'")
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        start = time.perf_counter()
        cursor.execute(
            f"""
            INSERT INTO {EVENTS} (uuid, series, org_id, device_timestamp, timestamp, streamer_local_id, status,
                dirty_ts, extra_data, data_key, format_version)
            SELECT gen_random_uuid(), s, %s, i, %s::timestamptz + i * %s::interval, i, 'cln', false,
                jsonb_build_object('axis', 'x', 'peak', i %% 1000, 'samples', i %% 97), '', 2
            FROM generate_series(1, %s) AS i, unnest(%s::integer[]) AS s
            ORDER BY i, s
            """,
            [org_id, FIRST, step, per_series, series],
        )
        seconds = time.perf_counter() - start
        for _, definition in indexes:
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        cursor.execute(f"CREATE TABLE {PLAIN_EVENTS} (LIKE {EVENTS} INCLUDING DEFAULTS)")
        cursor.execute(f"INSERT INTO {PLAIN_EVENTS} SELECT * FROM {EVENTS}")
        for statement in PLAIN_EVENT_INDEXES:
            cursor.execute(statement)
    connections["default"].close()
    with connections["default"].cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {EVENTS}")
        cursor.execute(f"VACUUM ANALYZE {PLAIN_EVENTS}")
    print(f"loaded {per_series * len(series):,} events in {seconds:.1f} s", file=sys.stderr, flush=True)


def footprint(target: str, alias: str = "streamdata") -> tuple[int, int, int]:
    """(rows, table bytes, index bytes) on disk, over every partition of ``target``."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        # A plain table is its own only leaf.
        cursor.execute(
            "SELECT coalesce(sum(pg_table_size(relid)), 0), coalesce(sum(pg_indexes_size(relid)), 0) FROM "
            "(SELECT relid FROM pg_partition_tree(%s) WHERE isleaf UNION SELECT %s::regclass "
            "WHERE NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass)) AS leaves",
            [target, target, target],
        )
        table_bytes, index_bytes = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {target}")
        return cursor.fetchone()[0], int(table_bytes), int(index_bytes)


def plain_delete(kept: dict[int, int], target: str = PLAIN, alias: str = "streamdata") -> None:
    from django.db import connections

    from server.apps.streamdata.services import retention_cutoff

    by_cutoff: dict[datetime.datetime, list[int]] = {}
    for series, days in kept.items():
        by_cutoff.setdefault(retention_cutoff(now=NOW, days=days), []).append(series)
    with connections[alias].cursor() as cursor:
        for cutoff, series in by_cutoff.items():
            cursor.execute(f"DELETE FROM {target} WHERE series = ANY(%s) AND timestamp < %s", [series, cutoff])
    connections[alias].close()
    with connections[alias].cursor() as cursor:
        cursor.execute(f"VACUUM {target}")


def rollups_match() -> bool:
    from django.db import connections

    with connections["streamdata"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT series, floor(extract(epoch FROM timestamp) / 86400)::bigint AS bucket, "
            f"count(value) AS n, min(value) AS low, max(value) AS high FROM {PARTITIONED} GROUP BY 1, 2) AS fresh "
            "FULL JOIN (SELECT series, bucket, count AS n, min AS low, max AS high FROM streamdata_streamdatarollup "
            "WHERE resolution = 86400) AS kept USING (series, bucket) "
            "WHERE fresh.n IS DISTINCT FROM kept.n OR fresh.low IS DISTINCT FROM kept.low "
            "OR fresh.high IS DISTINCT FROM kept.high"
        )
        return cursor.fetchone()[0] == 0


def same_rows(one: str, other: str) -> bool:
    """Whether the two event tables hold the same events (no event kept twice, none lost, none left over)."""
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT uuid, series, timestamp FROM {one} EXCEPT ALL "
            f"SELECT uuid, series, timestamp FROM {other}) AS extra"
        )
        extra = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT count(*) FROM (SELECT uuid, series, timestamp FROM {other} EXCEPT ALL "
            f"SELECT uuid, series, timestamp FROM {one}) AS missing"
        )
        return extra == 0 and cursor.fetchone()[0] == 0


def report_rows(count: int, streams: list[int], first_id: int):
    from server.apps.streamer.copy_rows import CopyRows, StreamColumns
    from server.apps.streamer.reports.timestamps import TimedReadings

    ids = list(range(first_id, first_id + count))
    start = NOW - datetime.timedelta(days=2)
    readings = TimedReadings(
        streams=[index % len(streams) for index in range(count)],
        reading_ids=ids,
        device_timestamps=list(range(count)),
        timestamps=[start + datetime.timedelta(seconds=index / 10) for index in range(count)],
        int_values=[index % 1000 for index in range(count)],
        statuses=["cln"] * count,
        dirty=[False] * count,
    )
    columns = {index: StreamColumns(series, "Num") for index, series in enumerate(streams)}
    return CopyRows(readings=readings, values=[float(i % 1000) for i in range(count)], stream_columns=columns)


def ingest(series: list[int], count: int) -> list[list[str]]:
    from django.db import connections, transaction

    from server.apps.streamer.copy_rows import COPY_COLUMNS, ChunkReader
    from server.apps.streamer.writer import COPY_READ_SIZE, streamdata_write

    streams = series[:50]
    first_id = 10_000_000
    timings: dict[str, list[float]] = {name: [] for name in INGEST_WAYS}
    for round_number in range(INGEST_ROUNDS):  # interleaved, so a busy moment of the machine hits each alike
        for way_number, name in enumerate(INGEST_WAYS):
            offset = first_id + (round_number * len(INGEST_WAYS) + way_number) * count
            rows = report_rows(count, streams, offset)
            start = time.perf_counter()
            if name == INGEST_WAYS[0]:
                done = streamdata_write(report_id=uuid.uuid4(), streamer_id=1, streamer_slug="t--bench", rows=rows)
                assert done.new_reading_count == count
            else:
                target = PARTITIONED if name == INGEST_WAYS[1] else PLAIN
                with transaction.atomic(using="streamdata"), connections["streamdata"].cursor() as cursor:
                    sql = f"COPY {target} ({', '.join(COPY_COLUMNS)}) FROM STDIN WITH (FORMAT binary)"
                    cursor.copy_expert(sql, ChunkReader(rows.chunks()), COPY_READ_SIZE)
            timings[name].append(time.perf_counter() - start)
    baseline = statistics.median(timings[INGEST_WAYS[-1]])
    lines = [["ingest (median of rounds)", "rows", "seconds", "rows/s", "x baseline time"]]
    for name, seconds_each in timings.items():
        seconds = statistics.median(seconds_each)
        lines.append([name, f"{count:,}", f"{seconds:.2f}", f"{count / seconds:,.0f}", f"{seconds / baseline:.2f}"])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--ingest-rows", type=int, default=500_000, help="0 leaves the ingest figures out")
    options = parser.parse_args()
    django_setup()
    from server.apps.streamdata.services import stream_data_retention_apply
    from server.apps.streamevent.services import stream_events_retention_apply

    with bench_databases():
        kept, org_id = register(options.series)
        series = sorted(kept)
        prepare(series, options.rows)
        prepare_events(series, options.events, org_id)
        tables = {
            PARTITIONED: "streamdata",
            PLAIN: "streamdata",
            EVENTS: "default",
            PLAIN_EVENTS: "default",
        }
        before = {name: footprint(name, alias) for name, alias in tables.items()}
        seconds = {}
        start = time.perf_counter()
        result = stream_data_retention_apply(now=NOW)
        seconds[PARTITIONED] = time.perf_counter() - start
        start = time.perf_counter()
        plain_delete(kept)
        seconds[PLAIN] = time.perf_counter() - start
        start = time.perf_counter()
        events_result = stream_events_retention_apply(now=NOW)
        seconds[EVENTS] = time.perf_counter() - start
        start = time.perf_counter()
        plain_delete(kept, PLAIN_EVENTS, "default")
        seconds[PLAIN_EVENTS] = time.perf_counter() - start
        after = {name: footprint(name, alias) for name, alias in tables.items()}
        mb = 1024 * 1024
        lines = [["table", "rows before", "rows after", "table MB", "indexes MB", "total MB", "freed MB", "seconds"]]
        for name, label in (
            (PARTITIONED, "readings: partitioned + retention"),
            (PLAIN, "readings: plain + DELETE + VACUUM"),
            (EVENTS, "events: partitioned + retention"),
            (PLAIN_EVENTS, "events: plain + DELETE + VACUUM"),
        ):
            (rows0, table0, index0), (rows1, table1, index1) = before[name], after[name]
            lines.append(
                [
                    label,
                    f"{rows0:,}",
                    f"{rows1:,}",
                    f"{table0 / mb:,.0f} → {table1 / mb:,.0f}",
                    f"{index0 / mb:,.0f} → {index1 / mb:,.0f}",
                    f"{(table0 + index0) / mb:,.0f} → {(table1 + index1) / mb:,.0f}",
                    f"{(table0 + index0 - table1 - index1) / mb:,.0f}",
                    f"{seconds[name]:.1f}",
                ]
            )
        print(table(lines))
        print(
            f"\nreadings: partitions dropped: {len(result.partitions_dropped)}, rows deleted in the others: "
            f"{result.rows_deleted:,}; roll-ups equal a fresh aggregate: {rollups_match()}"
        )
        print(
            f"events: partitions dropped: {len(events_result.partitions_dropped)}, events deleted in the others: "
            f"{events_result.rows_deleted:,}; rows equal to the plain table's after the same retention: "
            f"{same_rows(EVENTS, PLAIN_EVENTS)}"
        )
        if options.ingest_rows:
            print()
            print(table(ingest(series, options.ingest_rows)))
        print(f"\nload average: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
