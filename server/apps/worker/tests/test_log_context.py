"""A queued message carries the correlation id of the work that enqueued it, as its own field of the message; the
worker's log lines about it carry that correlation id and ``message-<id>`` as their request id, and the line that
enqueued the message carries the request's ids and the message id."""

from __future__ import annotations

import json
import logging

import pytest

from server.apps.core.logs import JsonFormatter, LogContextFilter, log_context
from server.apps.worker.models import QueueMessage
from server.apps.worker.queue import enqueue
from server.apps.worker.runner import run_worker
from server.apps.worker.tests.actions import Batched, RecordCall


class Tagged(logging.Handler):
    """Keeps each record with the ids the log handlers' filter gives it."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.addFilter(LogContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def tagged():
    handler = Tagged()
    logger = logging.getLogger("server.apps.worker")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_the_enqueue_line_and_the_worker_lines_are_joined_by_the_message_id(db, transport, call_log, tagged):
    with log_context(request="upload-request-1"):
        message_id = enqueue(RecordCall.name, {"log": str(call_log)})
    [enqueued] = [r for r in tagged.records if r.getMessage().startswith("enqueued")]
    assert (enqueued.request_id, enqueued.correlation_id, enqueued.message_id) == (
        "upload-request-1",
        "upload-request-1",
        message_id,
    )
    # The envelope's own field, beside the arguments.
    assert QueueMessage.objects.values_list("correlation_id", "arguments").get() == (
        "upload-request-1",
        {"log": str(call_log)},
    )
    run_worker(burst=True)
    [done] = [r for r in tagged.records if " done in " in r.getMessage()]
    assert (done.request_id, done.correlation_id) == (f"message-{message_id}", "upload-request-1")
    line = json.loads(JsonFormatter().format(done))
    assert (line["request_id"], line["correlation_id"]) == (f"message-{message_id}", "upload-request-1")


def test_a_message_enqueued_outside_any_work_correlates_by_its_own_id(db, transport, call_log, tagged):
    message_id = enqueue(RecordCall.name, {"log": str(call_log)})
    run_worker(burst=True)
    [done] = [r for r in tagged.records if " done in " in r.getMessage()]
    assert (done.request_id, done.correlation_id) == (f"message-{message_id}", f"message-{message_id}")


def test_a_batch_carries_the_ids_of_its_messages(db, transport, tmp_path, tagged):
    ids = []
    for n, correlation in enumerate(("client-a", "client-b", "client-a")):
        with log_context(request=f"request-{n}", correlation=correlation):
            ids.append(enqueue(Batched.name, {"log": str(tmp_path / "batch.log"), "value": str(n)}))
    run_worker(burst=True, batch_size=10)
    done = [r for r in tagged.records if " done in " in r.getMessage()]
    assert len(done) == 3
    assert {r.request_id for r in done} == {"messages-" + ",".join(str(i) for i in ids)}
    assert {r.correlation_id for r in done} == {"client-a,client-b"}
