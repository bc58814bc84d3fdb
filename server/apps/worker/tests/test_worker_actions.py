"""The worker's own actions: the self-test and the run log's retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from server.apps.stores.selectors import store_file_list
from server.apps.worker.jobs import WorkerRunCleanup, WorkerSelfTest
from server.apps.worker.models import DeadLetter, WorkerRun


def test_the_self_test_checks_databases_queue_and_store(db, transport, folder_stores, caplog):
    caplog.set_level("INFO", logger="server.apps.worker.jobs")
    scheduled_at = (timezone.now() - timedelta(seconds=3)).isoformat()
    WorkerSelfTest().execute({"scheduled_at": scheduled_at})
    assert "worker self-test ok: queue latency 3." in caplog.text
    assert "store 'status' round trip ok" in caplog.text
    assert "1 streamdata write connection(s) answer" in caplog.text  # the streamer app's check
    assert store_file_list(store="status") == []  # the probe is cleaned up


def test_the_self_test_fails_when_a_store_is_unreachable(db, transport, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store folder should be")
    settings.STORES = {**settings.STORES, "status": {"backend": "filesystem", "location": str(blocker)}}
    with pytest.raises(OSError):
        WorkerSelfTest().execute({})


def _run(days_ago: int) -> WorkerRun:
    return WorkerRun.objects.create(
        action="a", status="success", started_at=timezone.now() - timedelta(days=days_ago), duration=0.1
    )


def test_cleanup_keeps_the_retention_period(db, settings):
    settings.WORKER_RUN_RETENTION_DAYS = 30
    old, recent = _run(31), _run(29)
    requeued = DeadLetter.objects.create(action="a", error="e", requeued_at=timezone.now() - timedelta(days=40))
    waiting = DeadLetter.objects.create(action="a", error="e")
    WorkerRunCleanup().execute({})
    assert list(WorkerRun.objects.all()) == [recent]
    assert list(DeadLetter.objects.all()) == [waiting]
    assert not WorkerRun.objects.filter(pk=old.pk).exists()
    assert not DeadLetter.objects.filter(pk=requeued.pk).exists()
    WorkerRunCleanup().execute({"days": 1})
    assert not WorkerRun.objects.exists()
