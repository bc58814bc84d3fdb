"""Ingest with stream filters: readings per second through the report worker with 0 and with N active filters on
the ingested streams, side by side in one run.

    python bench/filters_ingest.py --readings 1000000 [--filters 100] [--repeat 3]

Each round builds a project with the four streams of ``bench/ingest.py``'s reports, adds ``--filters`` filters
(spread over the four variables: a two-state threshold machine each, with its own threshold near the top and the
bottom of the 32-bit range and a dead band, so a few readings in every thousand move a series and raise an alert),
uploads the reports and drains the queue with one ``manage.py worker --burst`` (as ``bench/ingest.py`` does). The
worker's time runs from the first report's start to the last report's end in its run log. Rounds with and without
filters alternate, the order swapping every round (0 then N, N then 0, …), the best of each kept; the ratio is
filtered/unfiltered rows per second (1.00 = no slowdown).

Every round runs on throw-away ``bench_*`` databases of its own (see _setup.py), created and migrated for it.
Sharing them, a round's writes ran up to half as fast as the round's before whatever its filters (the writer's
claims, probes and roll-ups slowed down, emptied tables or not), and the first round, unfiltered, always won.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

from _setup import bench_databases, django_setup, table
from ingest import RECEIVED, STREAMS, empty_tables, report_files, run_workers, worker_seconds

TOP = 0xFFFFFFFF
STEP = 1 << 16


def definition(index: int) -> dict:
    """Filter ``index``'s machine: high above ``TOP - STEP·(index+1)``, back below ``STEP·(index+1)``."""
    band = STEP * (index + 1)
    return {
        "initial_state": "normal",
        "states": [{"label": "normal"}, {"label": "high"}],
        "transitions": [
            {"src": "normal", "dst": "high", "triggers": [{"operator": "gt", "threshold": TOP - band, "deadband": 8}]},
            {"src": "high", "dst": "normal", "triggers": [{"operator": "lt", "threshold": band, "deadband": 8}]},
        ],
    }


def run_once(total: int, report_size: int, filters: int, data_dir: Path) -> dict:
    from django.db import transaction

    from server.apps.core.testing import make_org, make_user
    from server.apps.device.services import device_claim, device_create
    from server.apps.project.services import project_create
    from server.apps.stream.services import variable_create
    from server.apps.streamer.services.upload import streamer_report_upload
    from server.apps.streamfilter.models import StreamFilterAlert
    from server.apps.streamfilter.services import filter_create
    from server.apps.worker.jobs import WorkerSelfTest
    from server.apps.worker.models import WorkerRun
    from server.apps.worker.queue import enqueue

    empty_tables()
    WorkerRun.objects.all().delete()
    StreamFilterAlert.objects.all().delete()
    staff = make_user(is_staff=True)
    org = make_org(owner=staff)
    project = project_create(org=org, name=f"Bench {filters} {time.time()}", created_by=staff)
    variables = [variable_create(user=staff, project=project, lid=lid, name=f"Bench {lid:04x}") for lid in STREAMS]
    for index in range(filters):
        filter_create(
            user=staff,
            project=project,
            variable=variables[index % len(variables)],
            name=f"Bench {index}",
            **definition(index // len(variables)),
        )
    device = device_create(created_by=staff)
    device_claim(user=staff, device=device.slug, project=project)
    files = report_files(device.id, total, report_size)
    enqueue(WorkerSelfTest.name, {})
    for number, content in enumerate(files):
        with transaction.atomic():
            received = RECEIVED + datetime.timedelta(minutes=number)
            streamer_report_upload(user=staff, file_name="report.bin", content=content, received_time=received)
    peak = run_workers(data_dir, 1, None)
    seconds = worker_seconds(len(files))
    alerts = StreamFilterAlert.objects.filter(project=project).count()
    empty_tables()
    return {"filters": filters, "reports": len(files), "seconds": seconds, "alerts": alerts, "peak": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=1_000_000, help="readings ingested per round")
    parser.add_argument("--report-size", type=int, default=10_000, help="readings per report (default 10000)")
    parser.add_argument("--filters", type=int, default=100, help="active filters in the filtered rounds")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each; the best is kept")
    options = parser.parse_args()

    django_setup()
    from django.conf import settings

    from server.apps.stores.config import parse_store_configuration

    best: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-filters-") as folder:
        data_dir = Path(folder)
        settings.STORES = parse_store_configuration("", data_dir=data_dir)
        for round_number in range(options.repeat):
            order = (0, options.filters) if round_number % 2 == 0 else (options.filters, 0)
            for filters in order:
                with bench_databases():
                    result = run_once(options.readings, options.report_size, filters, data_dir)
                load = os.getloadavg()[0]
                result["load"] = load
                print(
                    f"round {round_number + 1}: {filters} filters, {result['seconds']:.2f} s, "
                    f"{options.readings / result['seconds']:,.0f} rows/s, load (1 min) {load:.1f}",
                    file=sys.stderr,
                )
                if filters not in best or result["seconds"] < best[filters]["seconds"]:
                    best[filters] = result

    baseline = options.readings / best[0]["seconds"]
    rows = [["active filters", "reports", "worker rows/s", "alerts", "peak RSS", "load (1 min)", "against 0 filters"]]
    for filters in (0, options.filters):
        result = best[filters]
        rate = options.readings / result["seconds"]
        rows.append(
            [
                str(filters),
                str(result["reports"]),
                f"{rate:,.0f}",
                f"{result['alerts']:,}",
                f"{result['peak']:.0f} MiB",
                f"{result['load']:.1f}",
                f"{rate / baseline:.2f}x",
            ]
        )
    print(f"{options.readings:,} readings, best of {options.repeat} rounds each, alternating, fresh databases each")
    print(table(rows))


if __name__ == "__main__":
    main()
