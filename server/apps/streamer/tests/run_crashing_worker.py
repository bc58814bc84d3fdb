"""``python -m server.apps.streamer.tests.run_crashing_worker POINT worker --burst``: ``manage.py`` with the ingest
path wrapped so the process kills itself (SIGKILL, no clean-up of any kind) at a named point of ProcessReport.

Points:

- ``mid_copy``: the COPY has sent some chunks of rows (small chunks here), the transaction is open;
- ``before_data_commit``: the rows are in, the streamdata transaction is not committed;
- ``after_data_commit``: the rows and the report's mark are committed, the acknowledgement is not;
- ``after_acknowledge``: the acknowledgement is committed, the queue message is not acknowledged.

``POINT@N`` crashes at the N-th report to reach the point (with ``--batch-size``, in the middle of a batch, while the
next report's write may be in flight).

Nothing here is in the production code: the test wraps module functions before the worker starts.
"""

from __future__ import annotations

import os
import signal
import sys

POINTS = ("mid_copy", "before_data_commit", "after_data_commit", "after_acknowledge")
CHUNKS_BEFORE_CRASH = 3


def _counter(nth: int):
    """A function that returns True the ``nth`` time it is called, and False every other time."""
    calls = 0

    def reached() -> bool:
        nonlocal calls
        calls += 1
        return calls == nth

    return reached


def crash() -> None:
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    """Wrap the ingest path so the process dies at ``point``; ``point@N`` dies the N-th time the point is reached
    (the N-th report of a batch), not the first."""
    from server.apps.streamer import copy_rows, writer
    from server.apps.streamer.services import processing

    point, _, nth = point.partition("@")
    reached = _counter(int(nth or 1))
    if point == "mid_copy":
        chunks = copy_rows.CopyRows.chunks

        def chunks_then_crash(self, rows_per_chunk=copy_rows.ROWS_PER_CHUNK):
            this_report = reached()
            for number, chunk in enumerate(chunks(self, rows_per_chunk=100)):
                if this_report and number == CHUNKS_BEFORE_CRASH:
                    crash()
                yield chunk

        copy_rows.CopyRows.chunks = chunks_then_crash
    elif point == "before_data_commit":
        for name in ("_copy", "_copy_skipping_conflicts"):
            original = getattr(writer, name)

            def copy_then_crash(*args, _original=original, **kwargs):
                _original(*args, **kwargs)
                if reached():
                    crash()

            setattr(writer, name, copy_then_crash)
    elif point in ("after_data_commit", "after_acknowledge"):
        acknowledge = processing._acknowledge

        def crash_around_acknowledge(**kwargs):
            this_report = reached()
            if this_report and point == "after_data_commit":
                crash()
            result = acknowledge(**kwargs)
            if this_report:
                crash()
            return result

        processing._acknowledge = crash_around_acknowledge
    else:
        raise SystemExit(f"unknown crash point {point!r}; one of {', '.join(POINTS)}")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.config.settings.test")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    point, *argv = sys.argv[1:]
    install(point)
    execute_from_command_line(["manage.py", *argv])


if __name__ == "__main__":
    main()
