"""Periodic jobs are enqueued at most once per interval, however many workers tick at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.db.models.functions import Now

from server.apps.worker.actions import ActionRegistryError
from server.apps.worker.models import QueueMessage, ScheduledJob, WorkerRun
from server.apps.worker.runner import run_worker
from server.apps.worker.scheduler import periodic_jobs, register_periodic, scheduler_tick
from server.apps.worker.tests.actions import RecordCall

PLATFORM_JOBS = {
    "WorkerSelfTest",
    "WorkerRunCleanup",
    "IngestedReportCleanup",
    "RejectedReportCleanup",
    "ReadStatusFiles",
    "CloseOverdueOperations",
    "DeviceHealthCheck",
    "StreamDataPartitions",
    "DataRetention",
    "RequeueStalledReports",
    "ForwardingSweep",
    "ForwardingCleanup",
    "RunUploadSchedules",
    "MendTelemetryValues",
}


@pytest.fixture
def jobs():
    saved = dict(periodic_jobs)
    yield periodic_jobs
    periodic_jobs.clear()
    periodic_jobs.update(saved)


def test_the_platform_declares_its_periodic_jobs():
    assert {"WorkerSelfTest", "WorkerRunCleanup"} <= set(periodic_jobs)
    assert periodic_jobs["WorkerSelfTest"].interval == timedelta(hours=1)


def test_a_tick_enqueues_each_job_once_per_interval(db, transport, jobs):
    assert set(scheduler_tick()) == PLATFORM_JOBS
    assert scheduler_tick() == []
    assert set(QueueMessage.objects.values_list("action", flat=True)) == PLATFORM_JOBS
    self_test = QueueMessage.objects.get(action="WorkerSelfTest")
    assert "scheduled_at" in self_test.arguments  # computed when enqueued
    ScheduledJob.objects.filter(name="WorkerSelfTest").update(last_enqueued_at=Now() - timedelta(minutes=61))
    assert scheduler_tick() == ["WorkerSelfTest"]


def test_the_periodic_jobs_run(db, transport, folder_stores, jobs):
    scheduler_tick()
    stats = run_worker(burst=True)
    assert (stats.succeeded, stats.dead) == (len(PLATFORM_JOBS), 0)
    assert set(WorkerRun.objects.values_list("action", "status")) == {(job, "success") for job in PLATFORM_JOBS}


def test_concurrent_ticks_enqueue_once(transactional_db, transport, jobs, call_log):
    periodic_jobs.clear()
    register_periodic(RecordCall, every=timedelta(minutes=5), arguments={"log": str(call_log)})
    barrier = threading.Barrier(4)
    results = []

    def tick():
        try:
            barrier.wait()
            results.append(scheduler_tick())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert QueueMessage.objects.filter(action="test.RecordCall").count() == 1


def test_declarations_are_checked(jobs):
    with pytest.raises(ValueError, match="positive interval"):
        register_periodic(RecordCall, every=timedelta(0))
    with pytest.raises(ActionRegistryError, match="already declared"):
        register_periodic(RecordCall, every=timedelta(minutes=1), name="WorkerSelfTest")
    job = register_periodic(RecordCall, every=timedelta(minutes=1), arguments=lambda: {"log": "x"})
    assert job.name == "test.RecordCall"
    assert job.make_arguments() == {"log": "x"}
