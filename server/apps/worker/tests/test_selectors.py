"""Staff see the queue depth, the run log and the dead letters; nobody else does."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from server.apps.core.errors import PermissionDeniedError
from server.apps.core.testing import assert_query_count, make_user
from server.apps.worker.models import QueueMessage
from server.apps.worker.queue import enqueue
from server.apps.worker.runner import run_worker
from server.apps.worker.selectors import dead_letters, queue_depth, recent_runs
from server.apps.worker.tests.actions import BadInput, RecordCall


@pytest.fixture
def history(db, transport, call_log):
    enqueue(RecordCall.name, {"log": str(call_log)})
    enqueue(BadInput.name)
    run_worker(burst=True)
    enqueue(RecordCall.name, {"log": str(call_log)}, delay=60)


def test_staff_see_everything(history):
    staff = make_user(is_staff=True)
    depth = queue_depth(user=staff)
    assert (depth.ready, depth.in_flight, depth.delayed) == (0, 0, 1)
    with assert_query_count(1):
        runs = list(recent_runs(user=staff))
    assert [run.action for run in runs] == ["test.BadInput", "test.RecordCall"]
    assert [run.action for run in recent_runs(user=staff, status="success")] == ["test.RecordCall"]
    assert [run.action for run in recent_runs(user=staff, action="test.BadInput")] == ["test.BadInput"]
    assert [letter.action for letter in dead_letters(user=staff)] == ["test.BadInput"]
    assert list(dead_letters(user=staff, action="other")) == []


@pytest.mark.parametrize("who", ["member", "anonymous"])
def test_others_see_nothing(history, who):
    user = make_user() if who == "member" else AnonymousUser()
    assert list(recent_runs(user=user)) == []
    assert list(dead_letters(user=user)) == []
    with pytest.raises(PermissionDeniedError):
        queue_depth(user=user)
    assert QueueMessage.objects.count() == 1
