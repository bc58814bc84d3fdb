"""Ingest with stream filters: readings per second through the report worker with 0 and with N active filters on
the ingested streams, side by side in one run.

    python bench/filters_ingest.py --readings 1000000 [--filters 100] [--repeat 3] [--interleave]
        [--baseline-tree DIR]

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

``--interleave`` makes the turns finer: one round holds both projects (``--readings`` each, on one device each) and
one worker drains them batch by batch in turns (a batch of ``WORKER_BATCH_SIZE`` reports of one project, then one
of the other); each project's time is the sum of its batches' times, each from the end of the batch before. The
machine's other work then falls on both alike, where whole rounds a minute apart met different loads.

``--baseline-tree DIR`` (a checkout of earlier code, ``git archive main | tar -x -C DIR``) runs the same rounds
with DIR's worker too, taking turns with this tree's; the databases are migrated by this tree (the schema of the
newer code, which the older one's worker runs on unchanged).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

from _setup import ROOT, bench_databases, django_setup, table
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


def _project(staff, org, filters: int, total: int, report_size: int) -> tuple[object, list[bytes]]:
    """A project with the four variables, ``filters`` filters on them and one claimed device; the device's report
    files of ``total`` readings."""
    from server.apps.device.services import device_claim, device_create
    from server.apps.project.services import project_create
    from server.apps.stream.services import variable_create
    from server.apps.streamfilter.services import filter_create

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
    return project, report_files(device.id, total, report_size)


def _upload(staff, files: list[bytes]) -> None:
    from django.db import transaction

    from server.apps.streamer.services.upload import streamer_report_upload
    from server.apps.worker.jobs import WorkerSelfTest
    from server.apps.worker.queue import enqueue

    enqueue(WorkerSelfTest.name, {})
    for number, content in enumerate(files):
        with transaction.atomic():
            received = RECEIVED + datetime.timedelta(minutes=number)
            streamer_report_upload(user=staff, file_name="report.bin", content=content, received_time=received)


def _fresh():
    from server.apps.core.testing import make_org, make_user
    from server.apps.streamfilter.models import StreamFilterAlert
    from server.apps.worker.models import WorkerRun

    empty_tables()
    WorkerRun.objects.all().delete()
    StreamFilterAlert.objects.all().delete()
    staff = make_user(is_staff=True)
    return staff, make_org(owner=staff)


def run_once(total: int, report_size: int, filters: int, data_dir: Path, tree: Path = ROOT) -> dict:
    from server.apps.streamfilter.models import StreamFilterAlert

    staff, org = _fresh()
    project, files = _project(staff, org, filters, total, report_size)
    _upload(staff, files)
    peak = run_workers(data_dir, 1, None, tree=tree)
    seconds = worker_seconds(len(files))
    alerts = StreamFilterAlert.objects.filter(project=project).count()
    empty_tables()
    return {"filters": filters, "reports": len(files), "seconds": seconds, "alerts": alerts, "peak": peak}


def run_interleaved(total: int, report_size: int, filters: int, data_dir: Path, tree: Path = ROOT) -> dict:
    """Both projects in one queue, a batch of each in turns; each project's seconds and alerts."""
    from django.conf import settings

    from server.apps.streamer.models import StreamerReport
    from server.apps.streamfilter.models import StreamFilterAlert
    from server.apps.worker.models import WorkerRun

    staff, org = _fresh()
    made = {count: _project(staff, org, count, total, report_size) for count in (0, filters)}
    batch = settings.WORKER_BATCH_SIZE
    turns = [
        content
        for start in range(0, len(made[0][1]), batch)
        for count in (0, filters)
        for content in made[count][1][start : start + batch]
    ]
    _upload(staff, turns)
    peak = run_workers(data_dir, 1, None, tree=tree)
    worker_seconds(len(turns))  # every report succeeded
    project_of = {
        str(report_id): str(project_id)
        for report_id, project_id in StreamerReport.objects.values_list("id", "streamer__device__project_id")
    }
    runs = sorted(
        (run.started_at.timestamp() + run.duration, project_of[run.arguments["report_id"]])
        for run in WorkerRun.objects.filter(action="ProcessReport")
    )
    first_start = min(run.started_at for run in WorkerRun.objects.filter(action="ProcessReport")).timestamp()
    seconds: dict[str, float] = {}
    previous_end = first_start
    for number, (end, project_id) in enumerate(runs):
        if number + 1 == len(runs) or runs[number + 1][1] != project_id:  # the end of a turn
            seconds[project_id] = seconds.get(project_id, 0.0) + end - previous_end
            previous_end = end
    result = {}
    for count, (project, files) in made.items():
        alerts = StreamFilterAlert.objects.filter(project=project).count()
        result[count] = {
            "filters": count,
            "reports": len(files),
            "seconds": seconds[str(project.pk)],
            "alerts": alerts,
            "peak": peak,
        }
    empty_tables()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=1_000_000, help="readings ingested per round")
    parser.add_argument("--report-size", type=int, default=10_000, help="readings per report (default 10000)")
    parser.add_argument("--filters", type=int, default=100, help="active filters in the filtered rounds")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each; the best is kept")
    parser.add_argument("--interleave", action="store_true", help="both projects in one round, batches in turns")
    parser.add_argument("--baseline-tree", type=Path, help="an earlier checkout whose worker takes turns with this")
    options = parser.parse_args()

    django_setup()
    from django.conf import settings

    from server.apps.stores.config import parse_store_configuration

    trees = {"this": ROOT}
    if options.baseline_tree:
        trees["baseline"] = options.baseline_tree.resolve()
    best: dict[tuple[str, int], dict] = {}
    ratios: dict[str, list[str]] = {label: [] for label in trees}
    with tempfile.TemporaryDirectory(prefix="bench-filters-") as folder:
        data_dir = Path(folder)
        settings.STORES = parse_store_configuration("", data_dir=data_dir)
        for round_number in range(options.repeat):
            labels = list(trees) if round_number % 2 == 0 else list(trees)[::-1]
            for label in labels:
                found: dict[int, dict] = {}
                if options.interleave:
                    with bench_databases():
                        found = run_interleaved(
                            options.readings, options.report_size, options.filters, data_dir, trees[label]
                        )
                    for result in found.values():
                        result["load"] = os.getloadavg()[0]
                else:
                    order = (0, options.filters) if round_number % 2 == 0 else (options.filters, 0)
                    for filters in order:
                        with bench_databases():
                            found[filters] = run_once(
                                options.readings, options.report_size, filters, data_dir, trees[label]
                            )
                        found[filters]["load"] = os.getloadavg()[0]
                for filters, result in found.items():
                    print(
                        f"round {round_number + 1}: {label} tree, {filters} filters, {result['seconds']:.2f} s, "
                        f"{options.readings / result['seconds']:,.0f} rows/s, load (1 min) {result['load']:.1f}",
                        file=sys.stderr,
                        flush=True,
                    )
                    key = (label, filters)
                    if key not in best or result["seconds"] < best[key]["seconds"]:
                        best[key] = result
                ratios[label].append(f"{found[0]['seconds'] / found[options.filters]['seconds']:.2f}x")

    mode = "batches in turns in one worker run" if options.interleave else "alternating, fresh databases each"
    print(f"{options.readings:,} readings, best of {options.repeat} rounds each, {mode}")
    rows = [
        [
            "tree",
            "active filters",
            "reports",
            "worker rows/s",
            "alerts",
            "peak RSS",
            "load (1 min)",
            "against 0 filters",
            "each round's ratio",
        ]
    ]
    for label in trees:
        baseline = options.readings / best[(label, 0)]["seconds"]
        for filters in (0, options.filters):
            result = best[(label, filters)]
            rate = options.readings / result["seconds"]
            rows.append(
                [
                    label,
                    str(filters),
                    str(result["reports"]),
                    f"{rate:,.0f}",
                    f"{result['alerts']:,}",
                    f"{result['peak']:.0f} MiB",
                    f"{result['load']:.1f}",
                    f"{rate / baseline:.2f}x",
                    ", ".join(ratios[label]) if filters else "",
                ]
            )
    print(table(rows))


if __name__ == "__main__":
    main()
