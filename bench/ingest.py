"""Ingest benchmark: readings per second through the report worker, compared with the ORM and with a raw COPY.

    python bench/ingest.py --readings 10000,100000,1000000 [--report-size 10000]

For each total it uploads SignedListReports (``--report-size`` readings each, four streams sampled on the same
ticks) through the upload service, then drains the queue with ``manage.py worker --burst`` in ``--workers``
subprocesses (default 1; ``--batch-size`` reports per receive, default ``WORKER_BATCH_SIZE``) and measures, on the
same streamdata table with the same indexes (emptied between runs):

- **worker**: end to end through the worker, from the stored report files to committed rows and acknowledgements
  (from the first report's start to the last report's end in the worker's run log). Each worker first runs the
  self-test, which opens its connections to both databases as a long-running worker has them;
- **bulk_create**: Django's ``bulk_create`` of the same rows (model instances built beforehand, batches of 10000);
- **raw COPY**: one text ``COPY`` of the same rows, pre-built as text.

Each measurement is repeated (``--repeat``, default 3) and the best round kept. It prints rows per second, the
ratios and the worker's peak resident memory. It uses throw-away ``bench_*``
databases (see _setup.py), never the real ones. Figures vary from run to run: compare them within one run.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import subprocess
import sys
import tempfile
import time
from itertools import zip_longest
from pathlib import Path

from _setup import ROOT, bench_databases, django_setup, subprocess_env, table

STREAMS = (0x5001, 0x5002, 0x5003, 0x5004)
# Settings of the worker processes that the benchmark's (test) settings do not give as deployed workers have them:
# STREAMDATA_WRITE_CONNECTIONS as in server/config/settings/base.py (``--write-connections``).
WORKER_SETTINGS = {"STREAMDATA_WRITE_CONNECTIONS": "2"}
TICK_SECONDS = 10
RECEIVED = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)


def report_files(device_id: int, total: int, report_size: int) -> list[bytes]:
    """SignedListReports of ``report_size`` readings (the last one shorter), ids 1..total, the streams sampled on
    the same ticks."""
    from server.apps.streamer.reports import build_signed_list_report

    files = []
    for first in range(0, total, report_size):
        ids = range(first + 1, min(first + report_size, total) + 1)
        rows = [
            (STREAMS[i % len(STREAMS)], i, (i // len(STREAMS)) * TICK_SECONDS, (i * 7919) & 0xFFFFFFFF) for i in ids
        ]
        sent = rows[-1][2] + TICK_SECONDS
        files.append(build_signed_list_report(device_id, rows, report_id=ids[-1], sent_timestamp=sent, selector=0xD7FF))
    return files


def empty_tables() -> None:
    from django.db import connections

    with connections["streamdata"].cursor() as cursor:
        cursor.execute("TRUNCATE streamdata_streamdata, streamer_ingestedreport RESTART IDENTITY")


def run_workers(
    data_dir: Path, workers: int, batch_size: int | None, profile: str | None = None, tree: Path = ROOT
) -> float:
    """Drain the queue with ``workers`` worker processes at once, of the checkout ``tree`` (this one unless given);
    returns the largest peak RSS in MiB."""
    env = subprocess_env(data_dir)
    env.update(WORKER_SETTINGS)
    if profile:
        env["BENCH_PROFILE"] = profile
    options = ["--batch-size", str(batch_size)] if batch_size else []
    processes = [
        subprocess.Popen(
            [sys.executable, str(tree / "bench" / "worker_process.py"), "worker", "--burst", *options],
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    peaks = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            sys.exit(f"a worker failed:\n{out}\n{err}")
        peaks.append(json.loads(err.strip().splitlines()[-1])["peak_rss_mib"])
    return max(peaks)


def worker_seconds(report_count: int) -> float:
    from server.apps.streamer.models import StreamerReport
    from server.apps.worker.models import WorkerRun

    runs = list(WorkerRun.objects.filter(action="ProcessReport"))
    failed = [run.error for run in runs if run.status != "success"]
    if failed or len(runs) != report_count:
        sys.exit(f"{len(runs)} runs for {report_count} reports; failures: {failed[:3]}")
    if StreamerReport.objects.exclude(status="success").exists():
        sys.exit("some reports did not succeed")
    start = min(run.started_at for run in runs)
    end = max(run.started_at + datetime.timedelta(seconds=run.duration) for run in runs)
    return (end - start).total_seconds()


def export_rows() -> tuple[bytes, list[dict]]:
    """The stored rows as COPY text, and as field dicts for the ORM."""
    from django.db import connections

    from server.apps.streamdata.models import StreamData
    from server.apps.streamer.copy_rows import COPY_COLUMNS

    buffer = io.BytesIO()
    with connections["streamdata"].cursor() as cursor:
        cursor.copy_expert(f"COPY (SELECT {', '.join(COPY_COLUMNS)} FROM streamdata_streamdata) TO STDOUT", buffer)
    fields = list(StreamData.objects.order_by("id").values(*COPY_COLUMNS))
    return buffer.getvalue(), fields


def time_bulk_create(fields: list[dict]) -> float:
    from django.db import transaction

    from server.apps.streamdata.models import StreamData

    objects = [StreamData(**row) for row in fields]
    start = time.perf_counter()
    with transaction.atomic(using="streamdata"):
        StreamData.objects.bulk_create(objects, batch_size=10_000)
    return time.perf_counter() - start


def time_raw_copy(text: bytes) -> float:
    from django.db import connections, transaction

    from server.apps.streamer.copy_rows import COPY_COLUMNS

    start = time.perf_counter()
    with transaction.atomic(using="streamdata"), connections["streamdata"].cursor() as cursor:
        cursor.copy_expert(f"COPY streamdata_streamdata ({', '.join(COPY_COLUMNS)}) FROM STDIN", io.BytesIO(text))
    return time.perf_counter() - start


def count_rows() -> int:
    from server.apps.streamdata.models import StreamData

    return StreamData.objects.count()


def run(total: int, report_size: int, data_dir: Path, repeat: int, workers: int, batch_size, profile=None) -> dict:
    """The best of ``repeat`` rounds of each measurement (the machine's other work only ever slows a round down)."""
    rounds = [run_once(total, report_size, data_dir, workers, batch_size, profile) for _ in range(repeat)]
    best = {key: min(r[key] for r in rounds) for key in ("worker", "orm", "copy")}
    return {**rounds[0], **best, "peak": max(r["peak"] for r in rounds)}


def run_once(total: int, report_size: int, data_dir: Path, workers: int, batch_size, profile=None) -> dict:
    from django.db import transaction

    from server.apps.core.testing import make_org, make_user
    from server.apps.device.services import device_claim, device_create
    from server.apps.project.services import project_create
    from server.apps.stream.services import variable_create
    from server.apps.streamer.services.upload import streamer_report_upload
    from server.apps.worker.jobs import WorkerSelfTest
    from server.apps.worker.models import WorkerRun
    from server.apps.worker.queue import enqueue

    empty_tables()
    WorkerRun.objects.all().delete()
    staff = make_user(is_staff=True)
    org = make_org(owner=staff)
    project = project_create(org=org, name=f"Bench {total} {time.time()}", created_by=staff)
    for lid in STREAMS:
        variable_create(user=staff, project=project, lid=lid, name=f"Bench {lid:04x}")
    # One device per worker, each device's readings in its own reports, uploaded in turns: a worker cannot share
    # one streamer's reports with another (they are written one at a time), so more workers need more devices.
    per_device = -(-total // workers)
    uploads = []
    for share in range(workers):
        device = device_create(created_by=staff)
        device_claim(user=staff, device=device.slug, project=project)  # makes the device's streams
        readings = min(per_device, total - share * per_device)
        uploads.append(report_files(device.id, readings, report_size))
    files = [content for turn in zip_longest(*uploads) for content in turn if content is not None]
    # A long-running worker has its connections to both databases open; the self-test, queued first, opens them.
    for _ in range(workers):
        enqueue(WorkerSelfTest.name, {})
    for number, content in enumerate(files):
        with transaction.atomic():
            received = RECEIVED + datetime.timedelta(minutes=number)
            streamer_report_upload(user=staff, file_name="report.bin", content=content, received_time=received)

    peak = run_workers(data_dir, workers, batch_size, profile)
    worker = worker_seconds(len(files))
    if count_rows() != total:
        sys.exit(f"expected {total} rows, found {count_rows()}")
    text, fields = export_rows()

    empty_tables()
    orm = time_bulk_create(fields)
    del fields
    if count_rows() != total:
        sys.exit("bulk_create stored the wrong number of rows")
    empty_tables()
    copy = time_raw_copy(text)
    if count_rows() != total:
        sys.exit("COPY stored the wrong number of rows")
    empty_tables()
    return {"total": total, "reports": len(files), "worker": worker, "orm": orm, "copy": copy, "peak": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", default="10000,100000,1000000", help="totals to ingest, comma-separated")
    parser.add_argument("--report-size", type=int, default=10_000, help="readings per report (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per total; the best of each is kept")
    parser.add_argument("--workers", type=int, default=1, help="worker processes draining the queue (default 1)")
    parser.add_argument("--batch-size", type=int, help="the workers' --batch-size (default: WORKER_BATCH_SIZE)")
    parser.add_argument(
        "--write-connections", type=int, default=2, help="the workers' STREAMDATA_WRITE_CONNECTIONS (default 2)"
    )
    parser.add_argument("--profile", help="write a cProfile of the (last) worker run to this file")
    options = parser.parse_args()
    totals = [int(value) for value in options.readings.split(",")]
    WORKER_SETTINGS["STREAMDATA_WRITE_CONNECTIONS"] = str(options.write_connections)

    django_setup()
    from django.conf import settings

    from server.apps.stores.config import parse_store_configuration

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder, bench_databases():
        data_dir = Path(folder)
        settings.STORES = parse_store_configuration("", data_dir=data_dir)
        for total in totals:
            results.append(
                run(
                    total,
                    options.report_size,
                    data_dir,
                    options.repeat,
                    options.workers,
                    options.batch_size,
                    options.profile,
                )
            )
            print(f"done: {total} readings", file=sys.stderr, flush=True)

    rows = [
        [
            "readings",
            "reports",
            "worker rows/s",
            "bulk_create rows/s",
            "raw COPY rows/s",
            "worker/COPY",
            "worker/bulk_create",
            "worker peak RSS",
        ]
    ]
    for result in results:
        total = result["total"]
        worker, orm, copy = total / result["worker"], total / result["orm"], total / result["copy"]
        rows.append(
            [
                f"{total:,}",
                f"{result['reports']:,}",
                f"{worker:,.0f}",
                f"{orm:,.0f}",
                f"{copy:,.0f}",
                f"{worker / copy:.2f}x",
                f"{worker / orm:.1f}x",
                f"{result['peak']:,.0f} MiB",
            ]
        )
    batch_size = options.batch_size or settings.WORKER_BATCH_SIZE
    print(
        f"{options.workers} worker process(es), batch size {batch_size}, {options.write_connections} write "
        f"connection(s), report size {options.report_size:,} readings, best of {options.repeat} rounds; targets: "
        "worker >= 0.7x raw COPY and >= 5x bulk_create"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
