"""The worker's log lines carry the message they are about as their correlation id, and the line that enqueued the
message carries the request's ids and the message id, which joins a request's lines to the worker's."""

from __future__ import annotations

import logging

import pytest

from server.apps.core.logs import LogContextFilter, log_context
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
    run_worker(burst=True)
    [done] = [r for r in tagged.records if " done in " in r.getMessage()]
    assert done.correlation_id == f"message-{message_id}"
    assert done.request_id == ""


def test_a_batch_carries_the_ids_of_its_messages(db, transport, tmp_path, tagged):
    ids = [enqueue(Batched.name, {"log": str(tmp_path / "batch.log"), "value": str(n)}) for n in range(3)]
    run_worker(burst=True, batch_size=10)
    done = [r for r in tagged.records if " done in " in r.getMessage()]
    assert len(done) == 3
    assert {r.correlation_id for r in done} == {"messages-" + ",".join(str(i) for i in ids)}
