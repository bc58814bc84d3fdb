"""End-to-end ingest latency as a user sees it: from the upload's HTTP request to the acknowledged ``last_id``.

    python bench/queue_latency.py --readings 10000,100000,1000000 [--server gunicorn|runserver] [--compare-polling]

It starts a web server (gunicorn with two workers, or ``manage.py runserver`` as ``inv run-local`` does) and one
long-running ``manage.py worker`` on throw-away ``bench_*`` databases (see _setup.py), then measures:

- **end to end**: a client uploads a device's reports of 10,000 readings back to back over HTTP (one keep-alive
  connection, ``Authorization: Token``), and the clock stops when the streamer's ``last_id`` acknowledges the last
  reading (polled every millisecond on a connection of its own). Beside it, a raw text ``COPY`` of the same rows
  into the same table, in the same run. Targets: >= 0.7x COPY at 100k and 1M readings;
- **a lone report**: one report of 10,000 readings, upload to ``last_id`` (median of ``--lone`` uploads), against
  100 ms plus its COPY time;
- **the upload request**: its latency for a 10,000-reading report (p50/p99 of the uploads above) beside the bare
  parse-and-verify time of the same file in this process;
- **enqueue → start**: from the commit of a message to the worker starting it (``WorkerRun.started_at``), p50/p99
  over ``--messages`` messages sent at random moments.

With ``--baseline-tree DIR --turns N`` the end to end at each size is also measured through DIR's own web server and
worker (a checkout of an earlier commit), taking turns with this tree's, N rounds each: old and new code in the
same run.

With ``--compare-polling`` each measurement is repeated with the worker as it was before ``LISTEN/NOTIFY``: it
polls the queue once a second (``WORKER_POLL_INTERVAL`` 1, no ``LISTEN``). Prints the load average too: on a shared
machine compare figures within one run.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from _setup import ROOT, bench_databases, django_setup, subprocess_env, table
from ingest import STREAMS, report_files

REPORT_SIZE = 10_000
START_TIMEOUT = 60
ACK_TIMEOUT = 600
WORKER_SETTINGS = {"STREAMDATA_WRITE_CONNECTIONS": "2"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT):
    with open(log, "w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(predicate, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not predicate():
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{what} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def server_command(kind: str, port: int) -> list[str]:
    if kind == "runserver":
        return [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "server.config.wsgi:application",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
    ]


def answers(url: str) -> bool:
    try:
        requests.get(url, timeout=10)
    except requests.RequestException:
        return False
    return True


class Bench:
    def __init__(self, data_dir: Path, base_url: str, token: str, staff, project) -> None:
        self.data_dir = data_dir
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.staff = staff
        self.project = project
        self.upload_times: list[float] = []
        import psycopg2
        from django.db import connections

        # The clock's own connection, in autocommit: each poll sees the latest commit.
        self.probe = psycopg2.connect(**connections["default"].get_connection_params())
        self.probe.autocommit = True

    def device(self):
        from server.apps.device.services import device_claim, device_create

        device = device_create(created_by=self.staff)
        device_claim(user=self.staff, device=device.slug, project=self.project)  # makes its streams
        return device

    def upload(self, content: bytes, number: int, base_url: str | None = None) -> float:
        received = datetime.datetime(2024, 5, 1, 12, 0, 0) + datetime.timedelta(minutes=number)
        start = time.perf_counter()
        response = self.session.post(
            f"{base_url or self.base_url}/api/v1/streamer/report/?timestamp={received.isoformat()}",
            files={"file": ("report.bin", content, "application/octet-stream")},
        )
        seconds = time.perf_counter() - start
        self.upload_times.append(seconds)
        if response.status_code != 201:
            sys.exit(f"upload answered {response.status_code}: {response.text[:500]}")
        return seconds

    def upload_comparison(self, baseline_url: str, uploads: int) -> tuple[list[float], list[float]]:
        """Upload request times of 10k-reading reports, to this tree's server and to the baseline's, taking turns
        (no worker runs meanwhile); their messages are dropped afterwards."""
        from server.apps.worker.models import QueueMessage

        files = {
            url: report_files(self.device().id, uploads * REPORT_SIZE, REPORT_SIZE)
            for url in (self.base_url, baseline_url)
        }
        times: dict[str, list[float]] = {self.base_url: [], baseline_url: []}
        for number in range(uploads):
            for url in (self.base_url, baseline_url) if number % 2 else (baseline_url, self.base_url):
                times[url].append(self.upload(files[url][number], number, url))
        self.upload_times.clear()
        QueueMessage.objects.all().delete()
        return times[self.base_url], times[baseline_url]

    def acknowledged(self, device_id: int) -> int:
        with self.probe.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(last_id), 0) FROM streamer_streamer WHERE device_id = %s", [device_id])
            return cursor.fetchone()[0]

    def highest_row_id(self) -> int:
        from django.db import connections

        with connections["streamdata"].cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM streamdata_streamdata")
            return cursor.fetchone()[0]

    def end_to_end(self, total: int, base_url: str | None = None) -> tuple[float, int]:
        """Seconds from the first upload's request to the acknowledgement of reading ``total`` of a new device; and
        the highest row id before (the run's rows are above it)."""
        device = self.device()
        files = report_files(device.id, total, REPORT_SIZE)
        before = self.highest_row_id()
        start = time.perf_counter()
        for number, content in enumerate(files):
            self.upload(content, number, base_url)
        deadline = time.monotonic() + ACK_TIMEOUT
        while self.acknowledged(device.id) < total:
            if time.monotonic() > deadline:
                sys.exit(f"reading {total} was not acknowledged in {ACK_TIMEOUT} s")
            time.sleep(0.001)
        return time.perf_counter() - start, before

    def copy_seconds(self, before: int, total: int) -> float:
        """A raw text COPY of the rows the run stored (ids above ``before``) into the same table, after deleting
        them."""
        from django.db import connections, transaction

        from server.apps.streamer.copy_rows import COPY_COLUMNS

        columns = ", ".join(COPY_COLUMNS)
        buffer = io.BytesIO()
        with connections["streamdata"].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM streamdata_streamdata WHERE id > %s", [before])
            if cursor.fetchone()[0] != total:
                sys.exit(f"expected {total} new rows")
            query = f"SELECT {columns} FROM streamdata_streamdata WHERE id > {int(before)}"
            cursor.copy_expert(f"COPY ({query}) TO STDOUT", buffer)
            cursor.execute("DELETE FROM streamdata_streamdata WHERE id > %s", [before])
        start = time.perf_counter()
        with transaction.atomic(using="streamdata"), connections["streamdata"].cursor() as cursor:
            cursor.copy_expert(f"COPY streamdata_streamdata ({columns}) FROM STDIN", io.BytesIO(buffer.getvalue()))
        seconds = time.perf_counter() - start
        if self.highest_row_id() <= before:
            sys.exit("COPY stored nothing")
        return seconds

    def enqueue_to_start(self, messages: int) -> list[float]:
        """Seconds from each message's commit to its run's start: a ProcessReport of a report that succeeded
        already (the worker looks it up and is done), sent at random moments."""
        from server.apps.streamer.models import StreamerReport
        from server.apps.worker.models import WorkerRun
        from server.apps.worker.queue import enqueue

        report_id = str(StreamerReport.objects.filter(status="success").values_list("id", flat=True).first())
        sent = {}
        for _ in range(messages):
            time.sleep(random.uniform(0.05, 0.25))
            message_id = enqueue("ProcessReport", {"report_id": report_id})  # autocommit: committed on return
            sent[message_id] = time.time()
        deadline = time.monotonic() + ACK_TIMEOUT
        while WorkerRun.objects.filter(message_id__in=list(sent)).count() < messages:
            if time.monotonic() > deadline:
                sys.exit("the worker did not run every message")
            time.sleep(0.05)
        runs = WorkerRun.objects.filter(message_id__in=list(sent)).values_list("message_id", "started_at")
        return [started_at.timestamp() - sent[message_id] for message_id, started_at in runs]


def parse_and_verify_seconds(content: bytes, repeat: int = 20) -> float:
    from server.apps.streamer.reports import parse_report

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        parse_report(content, "report.bin", key_lookup=lambda _device, _flags: None)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(bench: Bench, totals: list[int], lone: int, messages: int) -> dict:
    results: dict = {"sizes": []}
    for total in totals:
        seconds, before = bench.end_to_end(total)
        copy = bench.copy_seconds(before, total)
        results["sizes"].append({"total": total, "e2e": seconds, "copy": copy})
        print(f"done: {total} readings", file=sys.stderr, flush=True)
    lone_times, lone_copies = [], []
    for _ in range(lone):
        seconds, before = bench.end_to_end(REPORT_SIZE)
        lone_times.append(seconds)
        lone_copies.append(bench.copy_seconds(before, REPORT_SIZE))
    results["lone"] = (statistics.median(lone_times), statistics.median(lone_copies))
    results["uploads"], bench.upload_times = bench.upload_times, []
    results["latency"] = bench.enqueue_to_start(messages)
    return results


@contextmanager
def running_worker(env, data_dir: Path, polling: bool = False, tree: Path = ROOT, name: str = "worker"):
    """A long-running ``manage.py worker`` of ``tree``, its connections opened (as a long-running worker has them)."""
    env = {**env, **WORKER_SETTINGS}
    if polling:
        env.update({"BENCH_POLLING": "1", "WORKER_POLL_INTERVAL": "1"})
    log = data_dir / f"{name}{'-polling' if polling else ''}.log"
    command = [sys.executable, str(tree / "bench" / "worker_process.py"), "worker", "--no-scheduler"]
    with started(command, env, log, cwd=tree) as worker:
        from server.apps.worker.jobs import WorkerSelfTest
        from server.apps.worker.models import WorkerRun
        from server.apps.worker.queue import enqueue

        enqueue(WorkerSelfTest.name, {})  # opens the worker's connections
        wait_for(lambda: WorkerRun.objects.filter(action=WorkerSelfTest.name).exists(), "the worker", worker, log)
        WorkerRun.objects.filter(action=WorkerSelfTest.name).delete()
        yield


def run_worker_and_measure(bench, env, data_dir, totals, lone, messages, polling: bool) -> dict:
    with running_worker(env, data_dir, polling):
        return measure(bench, totals, lone, messages)


def end_to_end_turns(bench, env, data_dir, totals, servers: dict[str, tuple[Path, str]], turns: int) -> dict:
    """End to end / raw COPY at each size through each tree's own web server and worker, the trees taking turns
    (``turns`` rounds each, the order alternating); each worker is warmed up with one report first."""
    ratios: dict[str, dict[int, list[float]]] = {name: {total: [] for total in totals} for name in servers}
    for turn in range(turns):
        for name in list(servers) if turn % 2 == 0 else list(servers)[::-1]:
            tree, url = servers[name]
            with running_worker(env, data_dir, tree=tree, name=f"worker-{name.replace(' ', '-')}"):
                bench.end_to_end(REPORT_SIZE, url)
                for total in totals:
                    seconds, before = bench.end_to_end(total, url)
                    ratios[name][total].append(bench.copy_seconds(before, total) / seconds)
            print(f"done: turn {turn + 1} of {name}", file=sys.stderr, flush=True)
    bench.upload_times.clear()
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", default="10000,100000,1000000", help="totals to ingest, comma-separated")
    parser.add_argument("--server", choices=("gunicorn", "runserver"), default="gunicorn")
    parser.add_argument("--lone", type=int, default=5, help="lone 10k reports to time (the median is kept)")
    parser.add_argument("--messages", type=int, default=100, help="messages for enqueue -> start")
    parser.add_argument("--compare-polling", action="store_true", help="also run the worker polling once a second")
    parser.add_argument(
        "--baseline-tree",
        help="a checkout of an earlier commit (git archive main | tar -x -C DIR): its web server's upload requests "
        "are timed beside this tree's, taking turns",
    )
    parser.add_argument("--uploads", type=int, default=50, help="uploads to each server for --baseline-tree")
    parser.add_argument(
        "--turns",
        type=int,
        default=0,
        help="with --baseline-tree: also end to end / COPY at each size through each tree's own server and worker, "
        "taking turns, this many rounds each",
    )
    options = parser.parse_args()
    totals = [int(value) for value in options.readings.split(",")]

    django_setup()
    from django.conf import settings
    from rest_framework.authtoken.models import Token

    from server.apps.core.testing import make_org, make_user
    from server.apps.project.services import project_create
    from server.apps.stores.config import parse_store_configuration
    from server.apps.stream.services import variable_create

    sample = None
    modes = {}
    comparison = None
    turns: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as folder, bench_databases():
        data_dir = Path(folder)
        settings.STORES = parse_store_configuration("", data_dir=data_dir)
        env = subprocess_env(data_dir)
        # Devices are made by staff; the uploads come from the organisation's owner, a member as a client is.
        staff, owner = make_user(is_staff=True), make_user()
        org = make_org(owner=owner)
        project = project_create(org=org, name="Bench latency", created_by=owner)
        for lid in STREAMS:
            variable_create(user=owner, project=project, lid=lid, name=f"Bench {lid:04x}")
        token = Token.objects.create(user=owner).key
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server_log = data_dir / "server.log"
        with started(server_command(options.server, port), env, server_log) as server:
            wait_for(lambda: answers(f"{base_url}/api/v1/"), "the web server", server, server_log)
            bench = Bench(data_dir, base_url, token, staff, project)
            sample = report_files(bench.device().id, REPORT_SIZE, REPORT_SIZE)[0]
            if options.baseline_tree:
                baseline_port = free_port()
                baseline_log = data_dir / "baseline-server.log"
                command = server_command(options.server, baseline_port)
                with started(command, env, baseline_log, cwd=Path(options.baseline_tree)) as baseline:
                    baseline_url = f"http://127.0.0.1:{baseline_port}"
                    wait_for(lambda: answers(f"{baseline_url}/api/v1/"), "the baseline server", baseline, baseline_log)
                    comparison = bench.upload_comparison(baseline_url, options.uploads)
                    if options.turns:
                        baseline_tree = Path(options.baseline_tree)
                        servers = {"this tree": (ROOT, base_url), "baseline": (baseline_tree, baseline_url)}
                        turns = end_to_end_turns(bench, env, data_dir, totals, servers, options.turns)
            for polling in (False, True) if options.compare_polling else (False,):
                modes["polling" if polling else "notify"] = run_worker_and_measure(
                    bench, env, data_dir, totals, options.lone, options.messages, polling
                )
            bench.probe.close()

    parse = parse_and_verify_seconds(sample)
    load = os.getloadavg()
    print(
        f"{options.server}, 1 worker (batch size {settings.WORKER_BATCH_SIZE}, 2 write connections), reports of "
        f"{REPORT_SIZE:,} readings uploaded back to back over HTTP; load average {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f}; targets: e2e >= 0.7x raw COPY at 100k and 1M, a lone 10k report within 100 ms + its COPY"
    )
    rows = [["worker", "readings", "upload -> last_id", "e2e rows/s", "raw COPY rows/s", "e2e/COPY"]]
    for mode, results in modes.items():
        for size in results["sizes"]:
            total, e2e, copy = size["total"], size["e2e"], size["copy"]
            rows.append(
                [
                    mode,
                    f"{total:,}",
                    f"{e2e * 1000:,.0f} ms",
                    f"{total / e2e:,.0f}",
                    f"{total / copy:,.0f}",
                    f"{copy / e2e:.2f}x",
                ]
            )
    print(table(rows))
    print()
    rows = [["worker", "lone 10k: upload -> last_id", "its COPY", "target (100 ms + COPY)", "met"]]
    for mode, results in modes.items():
        lone, copy = results["lone"]
        rows.append(
            [
                mode,
                f"{lone * 1000:.0f} ms",
                f"{copy * 1000:.0f} ms",
                f"{(0.1 + copy) * 1000:.0f} ms",
                str(lone <= 0.1 + copy),
            ]
        )
    print(table(rows))
    print()
    uploads = [t for results in modes.values() for t in results["uploads"]]
    print(
        f"upload request of a 10k-reading report through {options.server}: p50 {percentile(uploads, 0.5) * 1000:.1f} "
        f"ms, p99 {percentile(uploads, 0.99) * 1000:.1f} ms ({len(uploads)} uploads); bare parse + verify of the "
        f"same file: {parse * 1000:.1f} ms"
    )
    if comparison is not None:
        rows = [["upload request (10k readings, no worker running)", "p50", "p99", "uploads"]]
        for name, times in zip(("this tree", f"baseline {options.baseline_tree}"), comparison, strict=True):
            p50, p99 = percentile(times, 0.5) * 1000, percentile(times, 0.99) * 1000
            rows.append([name, f"{p50:.1f} ms", f"{p99:.1f} ms", str(len(times))])
        print(table(rows))
    if turns:
        rows = [["end to end / raw COPY, taking turns", "readings", "median", "each run"]]
        for name, by_total in turns.items():
            for total, ratios in by_total.items():
                each = " ".join(f"{ratio:.2f}" for ratio in ratios)
                rows.append([name, f"{total:,}", f"{statistics.median(ratios):.2f}x", each])
        print(table(rows))
    print()
    rows = [["worker", "enqueue -> start p50", "p99", "max", "messages"]]
    for mode, results in modes.items():
        latency = results["latency"]
        rows.append(
            [
                mode,
                f"{percentile(latency, 0.5) * 1000:.1f} ms",
                f"{percentile(latency, 0.99) * 1000:.1f} ms",
                f"{max(latency) * 1000:.1f} ms",
                str(len(latency)),
            ]
        )
    print(table(rows))


if __name__ == "__main__":
    main()
