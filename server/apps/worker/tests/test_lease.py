"""The lease heartbeat: a message stays leased while its action runs past the lease, and only then."""

from __future__ import annotations

import time

from server.apps.worker.actions import Action, registry
from server.apps.worker.lease import LeaseKeeper
from server.apps.worker.models import QueueMessage, WorkerRun
from server.apps.worker.queue import enqueue
from server.apps.worker.runner import run_worker

LEASE = 0.5


def test_a_message_stays_leased_while_its_action_runs_longer_than_the_lease(transactional_db, transport):
    transport.lease_seconds = LEASE
    seen = {}

    class Long(Action):
        name = "test.Long"

        def execute(self, arguments):
            time.sleep(4 * LEASE)  # four leases: without the heartbeat, another receiver would take it
            seen["taken"] = transport.receive(worker_id="other")

    registry.register(Long)
    try:
        enqueue(Long.name)
        stats = run_worker(transport=transport, burst=True)
    finally:
        registry.unregister(Long.name)
    assert seen["taken"] == []
    assert (stats.received, stats.succeeded) == (1, 1)
    assert not QueueMessage.objects.exists()
    assert WorkerRun.objects.get().attempt == 1


def test_a_hold_that_ran_out_is_no_longer_renewed(transactional_db, transport):
    transport.lease_seconds = LEASE
    transport.send("a", {})
    transport.send("b", {})
    stuck, running = transport.receive(max_messages=2)
    keeper = LeaseKeeper(transport)
    keeper.hold([stuck], seconds=0)  # its actions' time limits passed: the worker is stuck on it
    keeper.hold([running], seconds=60)
    assert keeper.renew_due() == 1
    time.sleep(2 * LEASE)
    keeper.renew_due()
    [again] = transport.receive(max_messages=2)
    assert (again.id, again.attempt) == (stuck.id, 2)
    keeper.drop(running)
    assert keeper.renew_due() == 0
