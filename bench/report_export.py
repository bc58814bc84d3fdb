"""Bulk CSV export of a project at 10 million readings: peak memory and rows per second of the streamed export,
downloaded over HTTP from a running gunicorn (what a user sees) and in-process, beside a raw ``COPY (…) TO STDOUT`` of
the same query (the baseline: PostgreSQL writes the CSV, no Python per row), and, on the first million readings only,
a naive export (every row read into a list, then written), which would need about 4 GB at 10 million.

The readings are generated in SQL (``generate_series``, one statement per stream), not through the ORM. Each
in-process method runs in a forked child, so its peak resident memory (``ru_maxrss``) is its own; the figure is the
peak above the child's memory at its start. Over HTTP the figure is the gunicorn worker's resident memory sampled
every 0.1 s while the download runs, above its resident memory after a warm-up export of an empty project (so the
code loaded by the first request does not count). Databases are throw-away ``bench_*`` ones (bench/_setup.py).

    python bench/report_export.py                                   # 10,000,000 readings, naive on 1,000,000
    python bench/report_export.py --rows 200000 --naive-rows 100000  # a quick look
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import threading
import time
import urllib.request
from multiprocessing import get_context
from pathlib import Path

from _setup import bench_databases, django_setup, free_port, server_environment, start_server, table

LOAD_SQL = """
    INSERT INTO streamdata_streamdata (series, type, timestamp, streamer_local_id, int_value, value, status, dirty_ts)
    SELECT %(series)s, 'Num', %(t0)s::timestamptz + make_interval(secs => i * 1.3), i, i,
        ((i::bigint * 7919) %% 10007) / 7.0 - 500, 'cln', false
    FROM generate_series(1, %(count)s) AS i
"""


class Sink(io.RawIOBase):
    """Counts what is written to it, keeping nothing."""

    def __init__(self) -> None:
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.bytes += len(data)
        return len(data)


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def streamed(streams) -> int:
    from server.apps.report.selectors import project_export_csv

    sink = Sink()
    for piece in project_export_csv(streams=streams):
        sink.write(piece)
    return sink.bytes


def naive(streams) -> int:
    """What an export without a cursor does: the ORM's rows in a list, then the whole file in memory."""
    import csv

    from server.apps.report.generators.plan import iso
    from server.apps.streamdata.models import StreamData

    slugs = {stream.series: stream.slug for stream in streams}
    rows = list(
        StreamData.objects.filter(series__in=list(slugs))
        .order_by("series", "timestamp", "id")
        .values_list("series", "timestamp", "value")
    )
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(("stream", "timestamp", "value"))
    writer.writerows((slugs[series], iso(timestamp), value) for series, timestamp, value in rows)
    return len(text.getvalue().encode())


def raw_copy(streams) -> int:
    """The floor: PostgreSQL writes the same CSV itself and psycopg copies it out, no Python per row."""
    from django.db import connections

    from server.apps.report.selectors import _export_sql

    sink = Sink()
    connection = connections["streamdata"]
    with connection.cursor() as cursor:
        for stream in streams:
            sql, params = _export_sql(stream)
            query = cursor.mogrify(sql, params).decode()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", sink)
    return sink.bytes


METHODS = {"streamed": streamed, "naive (rows in a list)": naive, "raw COPY … TO STDOUT": raw_copy}


def child(name: str, stream_ids: list, queue) -> None:
    from django.db import connections

    from server.apps.stream.models import StreamId

    connections.close_all()
    streams = list(StreamId.objects.filter(pk__in=stream_ids).select_related("output_unit").order_by("slug"))
    start_rss = rss_kib()
    started = time.perf_counter()
    size = METHODS[name](streams)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((seconds, size, max(peak - start_rss, 0), peak))


def in_child(name: str, streams) -> tuple[float, int, int, int]:
    context = get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(name, [s.pk for s in streams], queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def download(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"JWT {token}"})
    size = 0
    with urllib.request.urlopen(request) as response:
        while piece := response.read(1 << 20):
            size += len(piece)
    return size


def over_http(project, warm_up_project, user, data_dir: Path) -> tuple[float, int, int, int]:
    """Download the export from a running gunicorn (one worker); the worker's peak RSS above its warmed-up RSS."""
    import psutil

    from server.apps.authentication.authentication import jwt_encode

    port = free_port()
    environment = server_environment("gunicorn", data_dir)
    # A sync worker tells the arbiter it is alive only between requests: with the deployed 60 s timeout, an export
    # streaming for longer is ended mid-way (docs/reports.md). The bench measures the stream, so no timeout.
    environment["GUNICORN_TIMEOUT"] = "0"
    server = start_server("gunicorn", port, environment)
    try:
        token = jwt_encode(user)
        base = f"http://127.0.0.1:{port}/api/v1/report/export/?project="
        download(base + warm_up_project.slug, token)
        (worker,) = psutil.Process(server.pid).children(recursive=True)
        idle = worker.memory_info().rss
        peak, done = idle, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, worker.memory_info().rss)
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        size = download(base + project.slug, token)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        return seconds, size, (peak - idle) // 1024, peak // 1024
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="readings to export (default 10,000,000)")
    parser.add_argument("--streams", type=int, default=10, help="streams they are spread over (default 10)")
    parser.add_argument(
        "--naive-rows",
        type=int,
        default=1_000_000,
        help="readings of the naive export's run, whole streams from the first (default 1,000,000; 0 leaves it out)",
    )
    options = parser.parse_args()

    django_setup()
    from django.db import connections

    from server.apps.device.tests.factories import T0
    from server.apps.report.tests.factories import make_report_project

    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    with bench_databases(), tempfile.TemporaryDirectory() as data_dir:
        project, streams = make_report_project(streams=options.streams)
        warm_up_project, _ = make_report_project(project.org, streams=1)
        per_stream = options.rows // options.streams
        started = time.perf_counter()
        with connections["streamdata"].cursor() as cursor:
            for stream in streams:
                cursor.execute(LOAD_SQL, {"series": stream.series, "t0": T0, "count": per_stream})
            cursor.execute("ANALYZE streamdata_streamdata")
        rows = per_stream * len(streams)
        loaded = time.perf_counter() - started
        print(f"loaded {rows:,} readings over {len(streams)} streams in {loaded:.0f} s", flush=True)
        connections.close_all()

        runs = []  # (label, rows, the baseline's label, seconds, bytes, peak KiB)
        small = streams[: max(options.naive_rows // per_stream, 1)] if options.naive_rows else []
        for subset, names in ((small, METHODS), (streams, ("raw COPY … TO STDOUT", "streamed"))):
            if not subset:
                continue
            count = per_stream * len(subset)
            for name in names:
                runs.append((name, count, *in_child(name, subset), os.getloadavg()[0]))
                print(f"  {name}, {count:,} rows: {runs[-1][2:]}", flush=True)
        count = rows
        runs.append(
            (
                "streamed over HTTP (gunicorn worker)",
                count,
                *over_http(project, warm_up_project, project.org.created_by, Path(data_dir)),
                os.getloadavg()[0],
            )
        )

        copy = {count: (seconds, rss) for name, count, seconds, _, _, rss, _ in runs if name.startswith("raw COPY")}
        in_process = {count: grown for name, count, _, _, grown, _, _ in runs if name == "streamed"}
        header = ["export", "rows", "seconds", "rows/s", "time/COPY", "MB out", "grew MiB", "/streamed"]
        lines = [[*header, "peak RSS MiB", "/COPY", "load"]]
        for name, count, seconds, size, grown, rss, load in runs:
            copy_seconds, copy_rss = copy[count]
            lines.append(
                [
                    name,
                    f"{count:,}",
                    f"{seconds:.1f}",
                    f"{count / seconds:,.0f}",
                    f"{seconds / copy_seconds:.2f}",
                    f"{size / 1e6:.0f}",
                    f"{grown / 1024:.1f}",
                    f"{grown / max(in_process[count], 1):.1f}",
                    f"{rss / 1024:.1f}",
                    f"{rss / copy_rss:.2f}",
                    f"{load:.1f}",
                ]
            )
        print()
        print(table(lines))
        print(
            "\ngrew = peak resident memory above the process's own at its start (in-process: ru_maxrss of a forked"
            " child; HTTP: the gunicorn worker sampled every 0.1 s, above its RSS after a warm-up export); peak RSS ="
            " the whole process's; ratios compare runs over the same rows (/streamed: to the in-process streamed"
            " export's growth; /COPY: to the raw COPY's time or peak RSS); load = the 1-minute load average when the"
            " run ended."
        )


if __name__ == "__main__":
    main()
