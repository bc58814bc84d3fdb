"""Query benchmark: the stream-data API on a table of millions of rows.

    python bench/query.py --rows 10000000 [--iterations 200]

It fills the streamdata table (in throw-away ``bench_*`` databases, see _setup.py) with ``--rows`` readings spread
over ``--streams`` streams, one reading a minute each, loaded by one ``INSERT … SELECT … generate_series`` with the
secondary indexes dropped and rebuilt afterwards, then ``VACUUM ANALYZE``. A project with some of those streams
registered, and a member who may read them, make the API calls real. Through Django's test client (the whole
request: authentication, scoping, filters, pagination, serialisation) it then times, ``--iterations`` times each on
randomly chosen streams:

- ``data/?filter=<s>&lastn=1000``: the last thousand readings;
- ``data/?filter=<s>&start=…&end=…``: one day of readings (1440, first page of 1000).

and prints p50, p99 and the mean in milliseconds. Figures vary from run to run.
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import time

from _setup import bench_databases, django_setup, table

PROJECT_GID = 1
START = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
VARIABLES = (0x5001, 0x5002, 0x5003, 0x5004, 0x5005)
REGISTERED_DEVICES = 10


def load(rows: int, streams: int) -> None:
    """``rows`` readings over ``streams`` streams (five per device), one a minute, loaded in the database."""
    from django.db import connections

    per_stream = rows // streams
    connection = connections["streamdata"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'streamdata_streamdata' "
            "AND indexname NOT LIKE '%%_pkey'"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        hex4 = "lpad(to_hex({}), 4, '0')"
        device = f"'0000-0000-' || {hex4.format('(d >> 16) & 65535')} || '-' || {hex4.format('d & 65535')}"
        variable = hex4.format(f"(ARRAY{list(VARIABLES)})[v + 1]")
        start = time.perf_counter()
        cursor.execute(
            f"""
            INSERT INTO streamdata_streamdata (stream_slug, project_slug, device_slug, variable_slug, type,
                device_timestamp, timestamp, streamer_local_id, int_value, value, status, dirty_ts)
            SELECT 's--0000-{PROJECT_GID:04x}--' || {device} || '--' || {variable}, 'p--0000-{PROJECT_GID:04x}',
                'd--' || {device}, 'v--0000-{PROJECT_GID:04x}--' || {variable}, 'Num',
                i * 60, %s::timestamptz + make_interval(mins => i), i, i %% 1000, (i %% 1000)::float8, 'cln', false
            FROM generate_series(0, %s - 1) AS s, LATERAL (SELECT s / 5 + 1 AS d, s %% 5 AS v) AS parts,
                generate_series(1, %s) AS i
            """,
            [START, streams, per_stream],
        )
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(definition)
        indexed = time.perf_counter() - start
    connection.close()
    with connections["streamdata"].cursor() as cursor:  # VACUUM cannot run inside a transaction block
        start = time.perf_counter()
        cursor.execute("VACUUM ANALYZE streamdata_streamdata")
        vacuumed = time.perf_counter() - start
    print(
        f"loaded {streams * per_stream:,} rows in {loaded:.1f} s, indexes in {indexed:.1f} s, "
        f"VACUUM ANALYZE in {vacuumed:.1f} s",
        file=sys.stderr,
        flush=True,
    )


def registered_streams(streams: int) -> list[str]:
    """A project whose gid and devices match the loaded slugs, with the streams of its first devices; returns
    their slugs."""
    from django.db import connection

    from server.apps.core.testing import make_org, make_user
    from server.apps.device.services import device_claim, device_create
    from server.apps.project.models import Project
    from server.apps.project.services import project_create
    from server.apps.stream.services import variable_create

    staff = make_user(is_staff=True)
    org = make_org(owner=staff)
    project = project_create(org=org, name="Bench queries", created_by=staff)
    if project.gid != PROJECT_GID:
        Project.objects.filter(pk=project.pk).update(gid=PROJECT_GID)
        project.refresh_from_db()
    with connection.cursor() as cursor:  # keep the device ids the loaded slugs use free
        cursor.execute("SELECT setval(pg_get_serial_sequence('device_device', 'id'), %s)", [streams // 5 + 1])
    for lid in VARIABLES:
        variable_create(user=staff, project=project, lid=lid, name=f"Bench {lid:04x}")
    slugs = []
    for device_id in range(1, REGISTERED_DEVICES + 1):
        device = device_create(created_by=staff, id=device_id)
        device_claim(user=staff, device=device.slug, project=project)  # makes its five streams
        slugs += [s.slug for s in device.streams.all()]
    return slugs


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(client, iterations: int, make_params) -> tuple[list[float], int]:
    samples, rows = [], 0
    for _ in range(iterations):
        params = make_params()
        start = time.perf_counter()
        response = client.get("/api/v1/data/", params)
        samples.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            sys.exit(f"data/ answered {response.status_code}: {response.content[:300]}")
        rows = len(response.json()["results"])
    return samples, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="readings to load (default 10,000,000)")
    parser.add_argument("--streams", type=int, default=1000, help="streams they are spread over (default 1000)")
    parser.add_argument("--iterations", type=int, default=200, help="requests per query (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    if options.streams % 5 or options.streams < 5 * REGISTERED_DEVICES:
        sys.exit(f"--streams must be a multiple of 5, at least {5 * REGISTERED_DEVICES}")

    django_setup()
    from server.apps.core.testing import api_client, make_member
    from server.apps.org.roles import MEMBER
    from server.apps.stream.models import StreamId

    random.seed(options.seed)
    per_stream = options.rows // options.streams
    days = per_stream // 1440
    if days < 2:
        sys.exit("each stream needs at least two days of readings: raise --rows or lower --streams")
    with bench_databases():
        load(options.rows, options.streams)
        slugs = registered_streams(options.streams)
        reader = make_member(StreamId.objects.get(slug=slugs[0]).org, MEMBER)
        client = api_client(reader)

        def lastn():
            return {"filter": random.choice(slugs), "lastn": 1000}

        def one_day():
            day = START + datetime.timedelta(days=random.randrange(days - 1))
            end = day + datetime.timedelta(days=1)
            return {"filter": random.choice(slugs), "start": day.isoformat(), "end": end.isoformat()}

        timed(client, 10, lastn)  # warm the caches and connections
        results = [("lastn=1000", *timed(client, options.iterations, lastn))]
        results.append(("start/end, one day", *timed(client, options.iterations, one_day)))

    rows = [["query", "rows returned", "p50 ms", "p99 ms", "mean ms"]]
    for name, samples, returned in results:
        rows.append(
            [
                name,
                f"{returned:,}",
                f"{percentile(samples, 0.5):.1f}",
                f"{percentile(samples, 0.99):.1f}",
                f"{statistics.fmean(samples):.1f}",
            ]
        )
    print(f"{options.rows:,} rows over {options.streams:,} streams, {options.iterations} requests per query")
    print(table(rows))


if __name__ == "__main__":
    main()
