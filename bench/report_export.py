"""Bulk CSV export of a project: peak memory and rows per second of the streamed export, beside a naive export (every
row read into a list, then written) and a raw ``COPY (…) TO STDOUT`` of the same query, plus the export downloaded
over HTTP from a running gunicorn (what a user sees, the server's peak memory sampled while it streams).

Each in-process method runs in a forked child, so its peak resident memory (``ru_maxrss``) is its own; the figure
is the peak above the child's memory at its start. Databases are throw-away ``bench_*`` ones (bench/_setup.py).

    python bench/report_export.py                  # 10,000,000 readings over 10 streams
    python bench/report_export.py --rows 200000    # a quick look
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

from _setup import bench_databases, django_setup
from query import free_port, start_server

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


METHODS = {"streamed": streamed, "naive (list)": naive, "raw COPY": raw_copy}


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
    queue.put((seconds, size, max(peak - start_rss, 0)))


def over_http(project, user, data_dir: Path) -> tuple[float, int, int]:
    """Download the export from a running gunicorn; the server's peak RSS above its idle RSS, sampled."""
    import psutil

    from server.apps.authentication.authentication import jwt_encode

    port = free_port()
    server = start_server("gunicorn", port, data_dir)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/report/export/?project={project.slug}"
        request = urllib.request.Request(url, headers={"Authorization": f"JWT {jwt_encode(user)}"})
        processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
        idle = sum(process.memory_info().rss for process in processes)
        peak, done = idle, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, sum(process.memory_info().rss for process in processes))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        size = 0
        with urllib.request.urlopen(request) as response:
            while piece := response.read(1 << 20):
                size += len(piece)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        return seconds, size, (peak - idle) // 1024
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="readings to export (default 10,000,000)")
    parser.add_argument("--streams", type=int, default=10, help="streams they are spread over (default 10)")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive export (it needs GBs)")
    options = parser.parse_args()

    django_setup()
    from django.db import connections

    from server.apps.device.tests.factories import T0
    from server.apps.report.tests.factories import make_report_project

    with bench_databases(), tempfile.TemporaryDirectory() as data_dir:
        project, streams = make_report_project(streams=options.streams)
        per_stream = options.rows // options.streams
        started = time.perf_counter()
        with connections["streamdata"].cursor() as cursor:
            for stream in streams:
                cursor.execute(LOAD_SQL, {"series": stream.series, "t0": T0, "count": per_stream})
            cursor.execute("ANALYZE streamdata_streamdata")
        rows = per_stream * len(streams)
        print(f"loaded {rows:,} readings over {len(streams)} streams in {time.perf_counter() - started:.0f} s")
        connections.close_all()

        results = {}
        context = get_context("fork")
        for name in METHODS:
            if name.startswith("naive") and options.skip_naive:
                continue
            queue = context.Queue()
            process = context.Process(target=child, args=(name, [s.pk for s in streams], queue))
            process.start()
            results[name] = queue.get()
            process.join()
        results["streamed over HTTP (gunicorn)"] = over_http(project, project.org.created_by, Path(data_dir))

        copy_rate = rows / results["raw COPY"][0]
        stream_peak = results["streamed"][2]
        print(
            f"\n{'export of ' + format(rows, ',') + ' rows':<34}{'seconds':>9}{'rows/s':>12}{'vs COPY':>9}"
            f"{'MB out':>9}{'peak MiB':>10}{'vs streamed':>13}"
        )
        for name, (seconds, size, peak_kib) in results.items():
            rate = rows / seconds
            print(
                f"{name:<34}{seconds:>9.1f}{rate:>12,.0f}{rate / copy_rate:>9.2f}{size / 1e6:>9.0f}"
                f"{peak_kib / 1024:>10.1f}{peak_kib / max(stream_peak, 1):>13.1f}"
            )
        print(
            "\npeak = resident memory above the process's own at the start (in-process methods: ru_maxrss of a"
            " forked child; HTTP: the gunicorn master and worker, sampled every 0.1 s)."
        )


if __name__ == "__main__":
    main()
