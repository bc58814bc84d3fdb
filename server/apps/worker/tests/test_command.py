"""``manage.py worker``: options, and graceful shutdown of a real worker process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from server.apps.worker.models import QueueMessage, WorkerRun
from server.apps.worker.queue import enqueue
from server.apps.worker.tests.actions import RecordCall, SleepThenRecord
from server.apps.worker.tests.conftest import REPO_ROOT

START_TIMEOUT = 60


def _wait_for(predicate, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not predicate():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the worker exited ({process.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def _worker_with_test_actions(env: dict[str, str], log: Path) -> subprocess.Popen:
    """A ``manage.py worker`` process that knows the test actions; its log goes to ``log``, its output to a pipe."""
    with open(log, "w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "server.apps.worker.tests.run_with_test_actions", "worker", "--no-scheduler"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )


def _stop(process: subprocess.Popen) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=START_TIMEOUT)
    return process.returncode, out, err


def test_burst_drains_and_reports(db, transport, call_log, capsys):
    enqueue(RecordCall.name, {"log": str(call_log), "value": 1})
    enqueue(RecordCall.name, {"log": str(call_log), "value": 2})
    call_command("worker", "--burst")
    assert call_log.read_text() == "1\n2\n"
    assert "2 received, 2 succeeded, 0 retried, 0 dead letters, 0 worker errors" in capsys.readouterr().out


def test_max_messages_must_be_positive(db):
    with pytest.raises(CommandError):
        call_command("worker", "--max-messages", "0")


def test_an_idle_worker_exits_cleanly_on_sigterm(subprocess_env, tmp_path):
    ready = tmp_path / "ready"
    subprocess_env["WORKER_WAIT_SECONDS"] = "1"
    with open(ready, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--no-scheduler"],
            cwd=REPO_ROOT,
            env=subprocess_env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    _wait_for(lambda: "postgres queue 'default'" in ready.read_text(), "the worker started", process)
    returncode, out, _ = _stop(process)
    assert returncode == 0, ready.read_text()
    assert "0 received" in out
    assert "stopping after the current message" in ready.read_text()


def test_sigterm_lets_the_message_in_hand_finish(subprocess_env, tmp_path, transport):
    started, finished = tmp_path / "started", tmp_path / "finished"
    enqueue(SleepThenRecord.name, {"started": str(started), "finished": str(finished), "seconds": 1.5})
    enqueue(RecordCall.name, {"log": str(tmp_path / "later.log")})
    log = tmp_path / "worker.log"
    process = _worker_with_test_actions(subprocess_env, log)
    _wait_for(started.exists, "the action started", process)
    returncode, out, _ = _stop(process)
    assert returncode == 0, log.read_text()
    assert finished.exists()  # the message in hand finished
    assert WorkerRun.objects.get().status == "success"
    assert "1 received, 1 succeeded" in out
    # The next message was not started and is still queued for the next worker.
    assert list(QueueMessage.objects.values_list("action", flat=True)) == ["test.RecordCall"]
    assert not Path(tmp_path / "later.log").exists()


def test_a_killed_workers_message_comes_back_after_one_lease(subprocess_env, tmp_path, transport):
    """The heartbeat keeps the message of a long action leased; once its worker is SIGKILLed, the message is
    another worker's after one lease (2 s here), not after the action's time limit (300 s)."""
    subprocess_env["WORKER_LEASE_SECONDS"] = "2"
    started = tmp_path / "started"
    enqueue(SleepThenRecord.name, {"started": str(started), "finished": str(tmp_path / "finished"), "seconds": 250})
    log = tmp_path / "worker.log"
    process = _worker_with_test_actions(subprocess_env, log)
    _wait_for(started.exists, "the action started", process)
    time.sleep(5)  # two and a half leases: renewed meanwhile, so still the worker's
    assert transport.receive(worker_id="other") == []
    process.kill()
    process.communicate(timeout=START_TIMEOUT)
    deadline = time.monotonic() + START_TIMEOUT
    messages = transport.receive(worker_id="other")
    while not messages and time.monotonic() < deadline:
        time.sleep(0.2)
        messages = transport.receive(worker_id="other")
    [message] = messages
    assert (message.action, message.attempt) == (SleepThenRecord.name, 2)
