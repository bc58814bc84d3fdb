"""Query benchmark: the stream-data API on a table of millions of rows, through a real web server, beside the bare SQL.

    python bench/query.py --rows 10000000 [--iterations 200] [--server gunicorn|runserver] [--baseline-tree DIR]

It fills the streamdata table (in throw-away ``bench_*`` databases, see _setup.py) with ``--rows`` readings spread
over ``--streams`` series, one reading a minute each, the series' rows interleaved in the table as devices' reports
leave them, loaded by one ``INSERT … SELECT … generate_series`` with the secondary indexes dropped and rebuilt
afterwards, then ``VACUUM ANALYZE``. A project with some of those streams registered (their ``StreamId.series`` set
to the loaded ids), and a member who may read them, make the API calls real. It then starts the web server on the
bench databases under the settings a user runs (``_setup.start_server``: ``gunicorn`` with gunicorn.conf.py and one
worker, debug off, or Django's ``runserver`` as ``inv run-local`` does, debug on; the settings' own ``CONN_MAX_AGE``
unless ``--conn-max-age`` says otherwise) and times, ``--iterations`` times each on randomly chosen streams, over one
HTTP connection (kept alive where the server keeps it) with the member's JWT:

- ``data/?filter=<s>&lastn=1000``: the last thousand readings;
- ``stream/<s>/data/?lastn=1000``: the same through the stream's own endpoint;
- ``data/?filter=<s>&start=…&end=…&page_size=10000``: a range of 10,000 readings (about a week);

each beside **bare SQL**: the plain statement for the page of the same parameters (captured as PostgreSQL receives
it: the same rows, the same columns as typed values, where the API has PostgreSQL write most of each row's JSON),
executed and fetched with psycopg2 in this process, and the ratio of the two; and beside Django's test client in this
process (the whole request without the HTTP server); with ``--baseline-tree``, beside the same request to a second
server of the same kind running an earlier checkout (``git archive main | tar -x -C DIR``) on the same databases.
The paths take turns at going first. It prints p50, p99 and the mean in milliseconds, the load average (the
machine may be shared) and whether PostgreSQL was reached over TCP or a Unix socket (over loopback TCP, a large
result may stall behind the kernel's pacing: docs/deploy.md). Figures vary from run to run; compare them within a
run.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from _setup import bench_databases, django_setup, free_port, server_environment, start_server, table

PROJECT_GID = 1
START = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
VARIABLES = (0x5001, 0x5002, 0x5003, 0x5004, 0x5005)
REGISTERED_DEVICES = 10
RANGE_POINTS = 10_000


def load(rows: int, streams: int) -> None:
    """``rows`` readings over series 1 … ``streams``, one a minute each, interleaved, loaded in the database."""
    from django.db import connections

    from server.apps.streamdata.partitions import months_between, partition_create

    per_stream = rows // streams
    connection = connections["streamdata"]
    with connection.cursor() as cursor:
        # The table is partitioned by month: the loaded months get theirs first (not the DEFAULT partition).
        for month in months_between(START, START + datetime.timedelta(minutes=per_stream)):
            partition_create(cursor, "streamdata_streamdata", month)
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'streamdata_streamdata' "
            "AND indexname NOT LIKE '%%_pkey'"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        start = time.perf_counter()
        # In time order, so that each series' rows lie among every other series' (without the ORDER BY, PostgreSQL may
        # loop over the series outside and lay each series' rows together).
        cursor.execute(
            """
            INSERT INTO streamdata_streamdata (series, type, device_timestamp, timestamp, streamer_local_id,
                int_value, value, status, dirty_ts)
            SELECT s, 'Num', i * 60, %s::timestamptz + make_interval(mins => i), i, i %% 1000, (i %% 1000)::float8,
                'cln', false
            FROM generate_series(1, %s) AS i, generate_series(1, %s) AS s
            ORDER BY i, s
            """,
            [START, per_stream, streams],
        )
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        for _, definition in indexes:
            # A partitioned table's index reads "ON ONLY <table>": built this way it covers the partitions too.
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
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


def registered_streams(streams: int):
    """A project with the streams of its first devices, each given one of the loaded series; returns them."""
    from django.db import connection

    from server.apps.core.testing import make_org, make_user
    from server.apps.device.services import device_claim, device_create
    from server.apps.project.models import Project
    from server.apps.project.services import project_create
    from server.apps.stream.models import SERIES_SEQUENCE, StreamId
    from server.apps.stream.services import variable_create

    staff = make_user(is_staff=True)
    org = make_org(owner=staff)
    project = project_create(org=org, name="Bench queries", created_by=staff)
    if project.gid != PROJECT_GID:
        Project.objects.filter(pk=project.pk).update(gid=PROJECT_GID)
        project.refresh_from_db()
    with connection.cursor() as cursor:  # new streams take series above the loaded ones
        cursor.execute("SELECT setval(%s, %s)", [SERIES_SEQUENCE, streams + 1])
    for lid in VARIABLES:
        variable_create(user=staff, project=project, lid=lid, name=f"Bench {lid:04x}")
    registered = []
    for device_id in range(1, REGISTERED_DEVICES + 1):
        device = device_create(created_by=staff, id=device_id)
        device_claim(user=staff, device=device.slug, project=project)  # makes its five streams
        registered += list(device.streams.order_by("var_lid"))
    # Spread them over the loaded series (their rows are interleaved with every other series' rows).
    for number, stream in enumerate(registered):
        stream.series = 1 + number * (streams // len(registered))
        StreamId.objects.filter(pk=stream.pk).update(series=stream.series)
    return registered


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="readings to load (default 10,000,000)")
    parser.add_argument("--streams", type=int, default=1000, help="series they are spread over (default 1000)")
    parser.add_argument("--iterations", type=int, default=200, help="requests per query (default 200)")
    parser.add_argument("--server", choices=("gunicorn", "runserver"), default="gunicorn")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline-tree", type=Path, help="an earlier checkout whose server answers the same requests, taking turns"
    )
    parser.add_argument(
        "--conn-max-age", type=int, default=None, help="the server's CONN_MAX_AGE (default: the settings' own)"
    )
    options = parser.parse_args()
    if options.streams < 5 * REGISTERED_DEVICES:
        sys.exit(f"--streams must be at least {5 * REGISTERED_DEVICES}")

    django_setup()
    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from server.apps.authentication.authentication import jwt_encode
    from server.apps.core.api.pagination import LargePagination
    from server.apps.core.testing import api_client, make_member
    from server.apps.org.roles import MEMBER
    from server.apps.streamdata.api.serializers import ROW_COLUMNS
    from server.apps.streamdata.filtersets import StreamDataFilterSet
    from server.apps.streamdata.selectors.rows import stream_data_for_series

    random.seed(options.seed)
    per_stream = options.rows // options.streams
    if per_stream < RANGE_POINTS:
        sys.exit(f"each series needs at least {RANGE_POINTS} readings: raise --rows or lower --streams")

    def page_sql(stream, params: dict) -> str:
        """The plain statement for the page of these parameters (the same filters, the same slice of one row more
        than the page, the row's columns as typed values), as PostgreSQL receives it."""
        request = Request(APIRequestFactory().get("/", params))
        filterset = StreamDataFilterSet(request.query_params, queryset=stream_data_for_series(series=[stream.series]))
        assert filterset.is_valid(), filterset.errors
        size = int(params.get("page_size", LargePagination.page_size))
        with CaptureQueriesContext(connections["streamdata"]) as captured:
            list(filterset.rows(ROW_COLUMNS)[: size + 1])
        return captured.captured_queries[-1]["sql"]

    with bench_databases(), tempfile.TemporaryDirectory() as data_dir:
        load(options.rows, options.streams)
        streams = registered_streams(options.streams)
        reader = make_member(streams[0].org, MEMBER)
        token = jwt_encode(reader)
        test_client = api_client(reader)
        port = free_port()
        environment = server_environment(options.server, Path(data_dir), options.conn_max_age)
        server = start_server(options.server, port, environment)
        web = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        baseline = baseline_web = None
        if options.baseline_tree:
            baseline_port = free_port()
            baseline = start_server(options.server, baseline_port, environment, options.baseline_tree)
            baseline_web = http.client.HTTPConnection("127.0.0.1", baseline_port, timeout=60)
        headers = {"Authorization": f"jwt {token}", "Accept": "application/json"}

        def lastn(stream):
            return "/api/v1/data/", {"filter": stream.slug, "lastn": 1000}

        def stream_lastn(stream):
            return f"/api/v1/stream/{stream.slug}/data/", {"lastn": 1000}

        def week(stream):
            first = START + datetime.timedelta(minutes=random.randrange(per_stream - RANGE_POINTS + 1))
            end = first + datetime.timedelta(minutes=RANGE_POINTS)
            return "/api/v1/data/", {
                "filter": stream.slug,
                "start": first.isoformat(),
                "end": end.isoformat(),
                "page_size": RANGE_POINTS,
            }

        def over_http(path: str, params: dict, connection: http.client.HTTPConnection = web) -> int:
            connection.request("GET", f"{path}?{urlencode(params)}", headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                sys.exit(f"{path} answered {response.status}: {body[:300]!r}")
            return len(body)

        def in_process(path: str, params: dict) -> int:
            response = test_client.get(path, params)
            if response.status_code != 200:
                sys.exit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
            return len(response.content)

        def bare_sql(sql: str) -> int:
            with connections["streamdata"].cursor() as cursor:
                cursor.execute(sql)
                return len(cursor.fetchall())

        # Asked of the live connection (libpq's own answer: a socket directory, or a host reached over TCP).
        with connections["streamdata"].cursor() as cursor:
            cursor.execute("SELECT inet_server_addr()")
            address = cursor.fetchone()[0]
        socket_dir = connections["streamdata"].connection.info.host
        reached = f"TCP {address}" if address is not None else f"a Unix socket in {socket_dir}"
        results = []
        try:
            for name, make in (
                ("data/?filter=<s>&lastn=1000", lastn),
                ("stream/<s>/data/?lastn=1000", stream_lastn),
                ("data/?filter=<s>&start&end (10k points)", week),
            ):
                samples: dict[str, list[float]] = {"http": [], "test client": [], "bare SQL": []}
                if baseline_web is not None:
                    samples["baseline http"] = []
                rows = 0
                for iteration in range(options.iterations + 5):
                    stream = random.choice(streams)
                    path, params = make(stream)
                    timings = {}
                    runs = [
                        ("http", over_http, (path, params)),
                        ("test client", in_process, (path, params)),
                        ("bare SQL", bare_sql, (page_sql(stream, params),)),
                    ]
                    if baseline_web is not None:
                        runs.insert(0, ("baseline http", over_http, (path, params, baseline_web)))
                    # The paths take turns at going first: the first to read a range of rows may find fewer of its
                    # pages in PostgreSQL's cache than those after it.
                    runs = runs[iteration % len(runs) :] + runs[: iteration % len(runs)]
                    for kind, run, arguments in runs:
                        started = time.perf_counter()
                        outcome = run(*arguments)
                        timings[kind] = (time.perf_counter() - started) * 1000
                        if kind == "bare SQL":
                            rows = outcome
                    if iteration >= 5:  # the first few warm the caches and connections
                        for kind, value in timings.items():
                            samples[kind].append(value)
                results.append((name, rows, samples))
        finally:
            for connection, process in ((web, server), (baseline_web, baseline)):
                if connection is not None and process is not None:
                    connection.close()
                    process.terminate()
                    process.wait(timeout=30)

    load_average = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [["query", "rows", "path", "p50 ms", "p99 ms", "mean ms", "p50 vs bare SQL", "p99 vs bare SQL"]]
    for name, rows, samples in results:
        bare = samples["bare SQL"]
        for kind, values in samples.items():
            lines.append(
                [
                    name if kind == "http" else "",
                    f"{rows:,}" if kind == "http" else "",
                    {"http": f"{options.server} (HTTP)", "baseline http": f"baseline {options.server} (HTTP)"}.get(
                        kind, kind
                    ),
                    f"{percentile(values, 0.5):.1f}",
                    f"{percentile(values, 0.99):.1f}",
                    f"{statistics.fmean(values):.1f}",
                    f"{percentile(values, 0.5) / percentile(bare, 0.5):.2f}x",
                    f"{percentile(values, 0.99) / percentile(bare, 0.99):.2f}x",
                ]
            )
    print(
        f"{options.rows:,} rows over {options.streams:,} series, {options.iterations} requests per query, "
        f"load average {load_average}, PostgreSQL over {reached}"
    )
    print(table(lines))


if __name__ == "__main__":
    main()
