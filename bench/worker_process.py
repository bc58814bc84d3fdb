"""``python bench/worker_process.py worker --burst``: ``manage.py`` that prints its peak memory when it exits, so
the ingest benchmark can report the worker's own peak resident set size."""

from __future__ import annotations

import cProfile
import json
import os
import resource
import sys

from _setup import django_setup


def peak_rss_kib() -> int:
    """This process's peak resident set size. Linux's ``VmHWM`` belongs to the process image, whereas ``ru_maxrss``
    also counts the parent's memory at the fork before ``exec``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def poll_as_before() -> None:
    """The worker as it was before LISTEN/NOTIFY (``BENCH_POLLING=1``): an idle receiver claims, then sleeps
    ``WORKER_POLL_INTERVAL``, for the latency benchmark's comparison."""
    from server.apps.worker.transports.postgres import PostgresTransport

    PostgresTransport._listen = lambda self: None  # type: ignore[method-assign]
    PostgresTransport._next_due = lambda self, queue: float("inf")  # type: ignore[method-assign]


def main() -> None:
    django_setup()
    if os.environ.get("BENCH_POLLING"):
        poll_as_before()
    from django.core.management import execute_from_command_line

    profile_path = os.environ.get("BENCH_PROFILE")
    try:
        if profile_path:
            # Profiling the worker: python bench/ingest.py --profile FILE, then read FILE with pstats.
            cProfile.runctx(
                "execute_from_command_line(argv)",
                globals(),
                {**locals(), "argv": ["manage.py", *sys.argv[1:]]},
                profile_path,
            )
        else:
            execute_from_command_line(["manage.py", *sys.argv[1:]])
    finally:
        print(json.dumps({"peak_rss_mib": round(peak_rss_kib() / 1024, 1)}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
