"""Stream page benchmark: the dashboard's chart, page, table and CSV on a stream of a million readings.

    python bench/stream_page.py [--readings 1000000] [--streams 4] [--iterations 10]

It loads ``--streams`` streams of one device with ``--readings`` readings each, one every 30 seconds, in one
``INSERT … SELECT generate_series`` ordered by time, so the streams' rows are interleaved in the table the way a
device's reports leave them, then ``VACUUM ANALYZE`` (in throw-away ``bench_*`` databases, see _setup.py). Through
Django's test client (the whole request: session, scoping, the query, JSON or HTML) it times, ``--iterations``
times each, on the first stream (and with ``--server``, the charts again over HTTP through that web server, run as
``bench/query.py`` runs it):

- ``series.json`` over the whole stream (the page's first chart: every reading, downsampled in the database),
  over the last 30 days, the last 24 hours and one hour (raw readings);
- the page itself and a table page from the middle of the stream (keyset);
- ``data.csv`` of the whole stream once, then again for the peak of Python memory while it streams.

``--covering-index`` is an experiment: it adds an index that carries ``value``, so the chart's buckets are read
from the index alone.

It prints p50, max and mean in milliseconds, and the plan of the chart's bucket query. Figures vary from run to run.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from _setup import bench_databases, django_setup, free_port, server_environment, start_server, table

START = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
STEP_SECONDS = 30


def load(streams, readings: int, *, covering: bool) -> None:
    from django.db import connections

    from server.apps.streamdata.services import stream_data_rollups_rebuild

    values = ", ".join(f"({index}, {stream.series})" for index, stream in enumerate(streams))
    with connections["streamdata"].cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            f"""
            INSERT INTO streamdata_streamdata (series, type, timestamp, streamer_local_id, int_value, value, status,
                dirty_ts)
            SELECT s.series, 'Num', %s::timestamptz + make_interval(secs => g * {STEP_SECONDS}), g * %s + s.i + 1,
                round(v * 100)::bigint, v, 'cln', false
            FROM generate_series(0, %s - 1) AS g
            CROSS JOIN (VALUES {values}) AS s (i, series)
            CROSS JOIN LATERAL (SELECT 20 + 4 * sin(g / 2880.0 * 2 * pi()) + s.i + (g %% 7) / 10.0 AS v) AS r
            ORDER BY g, s.i
            """,
            [START, len(streams), readings],
        )
        if covering:
            cursor.execute(
                "CREATE INDEX bench_stream_time_value ON streamdata_streamdata (series, timestamp) INCLUDE (value)"
            )
        cursor.execute("VACUUM ANALYZE streamdata_streamdata")
        print(f"loaded {readings * len(streams):,} readings in {time.perf_counter() - started:.1f} s")
    # A bulk load bypasses the write path, so its roll-ups are built afterwards, as a migration does.
    started = time.perf_counter()
    stream_data_rollups_rebuild(series=[stream.series for stream in streams])
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE streamdata_streamdatarollup")
    print(f"roll-ups built in {time.perf_counter() - started:.1f} s")


def timed(client, url: str, iterations: int) -> list[float]:
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            for _chunk in response.streaming_content:
                pass
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def over_http(options, data_dir: Path, base: str, cases, session: str) -> list[list[str]]:
    """The chart requests through a running web server, with the test client's session cookie."""
    port = free_port()
    server = start_server(options.server, port, server_environment(options.server, data_dir))
    web = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    rows = []
    try:
        for name, path in cases:
            if not path.startswith("series"):
                continue
            times = []
            for iteration in range(options.iterations + 1):
                started = time.perf_counter()
                web.request("GET", base + path, headers={"Cookie": f"sessionid={session}"})
                response = web.getresponse()
                body = response.read()
                if iteration:  # the first warms the server's connections
                    times.append((time.perf_counter() - started) * 1000)
                assert response.status == 200, (path, response.status, body[:300])
            figures = (statistics.median(times), max(times), statistics.mean(times))
            points = json.loads(body)["points"]
            rows.append([f"{name}, {options.server} (HTTP)", str(points), *(f"{figure:.0f}" for figure in figures)])
    finally:
        web.close()
        server.terminate()
        server.wait(timeout=30)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=1_000_000, help="readings per stream")
    parser.add_argument("--streams", type=int, default=4, help="streams of the device, interleaved in the table")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument(
        "--server",
        choices=("gunicorn", "runserver"),
        help="also time the charts over HTTP through this web server (its own settings, the same session)",
    )
    parser.add_argument(
        "--covering-index",
        action="store_true",
        help="an experiment: add (series, timestamp) INCLUDE (value), so buckets need no heap reads",
    )
    options = parser.parse_args()

    django_setup()
    with bench_databases():
        from django.db import connections
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from server.apps.device.tests.factories import make_device, make_project, make_stream, make_variable

        project = make_project(name="Bench")
        device = make_device(project)
        streams = [make_stream(device, variable=make_variable(project, lid=0x5001 + i)) for i in range(options.streams)]
        load(streams, options.readings, covering=options.covering_index)
        stream = streams[0]
        client = Client()
        client.force_login(project.org.created_by)
        base = f"/org/{stream.org.slug}/stream/{stream.slug}/"
        hour = {"start": "2025-03-01T00:00:00Z", "end": "2025-03-01T01:00:00Z"}
        # Rows are numbered in the order they were loaded: time first, then stream.
        middle_id = 1 + options.streams * (options.readings // 2)

        rows = [["request", "points", "p50 ms", "max ms", "mean ms"]]
        cases = [
            ("series.json, whole stream", "series.json"),
            ("series.json, last 30 days", "series.json?range=30d"),
            ("series.json, last 24 hours", "series.json?range=24h"),
            ("series.json, one hour (raw)", f"series.json?start={hour['start']}&end={hour['end']}"),
            ("page", ""),
            ("table page mid-stream", f"table/?before={middle_id}"),
        ]
        client.get(base + "series.json")  # warm the caches once
        for name, path in cases:
            times = timed(client, base + path, options.iterations)
            points = client.get(base + path).json()["points"] if path.startswith("series") else ""
            figures = (statistics.median(times), max(times), statistics.mean(times))
            rows.append([name, str(points), *(f"{figure:.0f}" for figure in figures)])
        if options.server:
            with tempfile.TemporaryDirectory() as data_dir:
                rows += over_http(options, Path(data_dir), base, cases, client.cookies["sessionid"].value)
        csv_times = timed(client, base + "data.csv", 1)
        # Measured apart: tracing every allocation slows the writing down several times.
        tracemalloc.start()
        timed(client, base + "data.csv", 1)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append(["data.csv, whole stream", f"{options.readings:,} rows", f"{csv_times[0]:.0f}", "", ""])
        # The whole stream's chart buckets alone, from the roll-ups and, as the previous design did, from the rows.
        from datetime import timedelta

        from server.apps.streamdata.selectors.rows import stream_data_bounds
        from server.apps.streamdata.selectors.series import _row_buckets, series_bucket_seconds, series_buckets

        first, last = stream_data_bounds(series=stream.series)
        end = last + timedelta(seconds=1)
        width = series_bucket_seconds((end - first).total_seconds())
        for name, compute in (
            ("chart buckets, roll-ups", series_buckets),
            ("chart buckets, rows (previous design)", _row_buckets),
        ):
            times = []
            for _ in range(options.iterations):
                started = time.perf_counter()
                found = compute(series=stream.series, start=first, end=end, width=width)
                times.append((time.perf_counter() - started) * 1000)
            figures = (statistics.median(times), max(times), statistics.mean(times))
            rows.append([name, str(len(found)), *(f"{figure:.0f}" for figure in figures)])
        print(table(rows))
        print(f"{options.streams} streams of {options.readings:,} readings interleaved; load average {os.getloadavg()}")
        print(f"data.csv peak Python memory while streaming: {peak / 1e6:.1f} MB")

        with CaptureQueriesContext(connections["streamdata"]) as queries:
            client.get(base + "series.json")
        buckets = queries.captured_queries[-1]["sql"]
        with connections["streamdata"].cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {buckets}")
            print("\nplan of the bucket query:")
            print("\n".join(f"  {line}" for (line,) in cursor.fetchall()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
