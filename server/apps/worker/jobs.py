"""The worker's own actions: a periodic self-test and the run log's retention."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from server.apps.stores.selectors import store_file_read
from server.apps.stores.services import store_file_delete, store_file_save
from server.apps.worker.actions import Action, RetriableError, RetryPolicy, register_action
from server.apps.worker.scheduler import register_periodic
from server.apps.worker.services import worker_runs_delete_older_than
from server.apps.worker.transports import get_transport

logger = logging.getLogger(__name__)

SELF_TEST_STORE = "status"
# Checks other apps add to the self-test: each returns a finding, or raises.
SELF_TEST_CHECKS: list[Callable[[], str]] = []


def register_self_test_check(check: Callable[[], str]) -> Callable[[], str]:
    SELF_TEST_CHECKS.append(check)
    return check


@register_action
class WorkerSelfTest(Action):
    """Proves the whole path works: the message arrived (and how late), both databases answer (and the checks
    other apps register, such as the streamdata write connections), the queue can be measured and the status store
    keeps a file. A failing check raises, so the run log shows it."""

    optional_arguments = ("scheduled_at",)
    timeout = 60
    retry = RetryPolicy(max_attempts=2, backoff=60)

    def execute(self, arguments: dict[str, Any]) -> None:
        findings = []
        scheduled_at = parse_datetime(arguments.get("scheduled_at") or "")
        if scheduled_at is not None:
            findings.append(f"queue latency {(timezone.now() - scheduled_at).total_seconds():.1f} s")
        for alias in settings.DATABASES:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        findings.extend(check() for check in SELF_TEST_CHECKS)
        depth = get_transport().depth()
        findings.append(f"queue {depth.ready} ready / {depth.in_flight} running / {depth.delayed} delayed")
        key = f"worker-self-test/{uuid.uuid4().hex}.txt"
        probe = f"self-test {time.time()}".encode()
        store_file_save(store=SELF_TEST_STORE, key=key, content=probe)
        try:
            if store_file_read(store=SELF_TEST_STORE, key=key) != probe:
                raise RetriableError(f"store {SELF_TEST_STORE!r} returned other bytes than were saved")
        finally:
            store_file_delete(store=SELF_TEST_STORE, key=key)
        findings.append(f"store {SELF_TEST_STORE!r} round trip ok")
        logger.info("worker self-test ok: %s", "; ".join(findings))


@register_action
class WorkerRunCleanup(Action):
    """Keeps the run log (and requeued dead letters) to ``WORKER_RUN_RETENTION_DAYS``."""

    optional_arguments = ("days",)
    timeout = 600

    def execute(self, arguments: dict[str, Any]) -> None:
        days = int(arguments.get("days") or settings.WORKER_RUN_RETENTION_DAYS)
        deleted = worker_runs_delete_older_than(days=days)
        logger.info("worker run cleanup: %d rows older than %d days deleted", deleted, days)


register_periodic(
    WorkerSelfTest, every=timedelta(hours=1), arguments=lambda: {"scheduled_at": timezone.now().isoformat()}
)
register_periodic(WorkerRunCleanup, every=timedelta(days=1))
