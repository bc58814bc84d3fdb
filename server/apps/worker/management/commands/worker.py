"""``manage.py worker``: run the queue worker until SIGTERM or SIGINT; it finishes the message in hand, then exits 0."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from server.apps.worker.runner import Worker


class Command(BaseCommand):
    help = "Run the queue worker (and the periodic-job scheduler)."

    def add_arguments(self, parser):
        parser.add_argument("--queue", default="default", help="logical queue to read (default: default)")
        parser.add_argument("--wait", type=float, default=None, help="seconds to wait for a message per receive")
        parser.add_argument(
            "--batch-size", type=int, default=None, help="messages to take per receive (default: WORKER_BATCH_SIZE)"
        )
        parser.add_argument("--once", action="store_true", help="handle one receive's messages, then exit")
        parser.add_argument("--burst", action="store_true", help="drain the queue, then exit")
        parser.add_argument("--max-messages", type=int, default=None, help="exit after this many messages")
        parser.add_argument("--no-scheduler", action="store_true", help="do not enqueue periodic jobs")

    def handle(self, *args, **options):
        if options["max_messages"] is not None and options["max_messages"] < 1:
            raise CommandError("--max-messages must be at least 1")
        one_off = options["once"] or options["burst"]
        worker = Worker(
            queue=options["queue"],
            wait=options["wait"],
            batch_size=options["batch_size"] or settings.WORKER_BATCH_SIZE,
            once=options["once"],
            burst=options["burst"],
            max_messages=options["max_messages"],
            scheduler=not (options["no_scheduler"] or one_off),
            handle_signals=True,
        )
        stats = worker.run()
        self.stdout.write(
            f"worker {worker.worker_id}: {stats.received} received, {stats.succeeded} succeeded, "
            f"{stats.retried} retried, {stats.dead} dead letters, {stats.errors} worker errors"
        )
