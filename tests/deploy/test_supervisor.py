"""The run-local supervisor on small real processes: a program that dies is restarted with growing delays while the
others keep running, and stopping ends every process, the children's own children included."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from server.config.supervisor import Program, Supervisor, restart_delay

# Long enough that a test never waits on it; the supervisor is what ends these processes.
SLEEPER = (sys.executable, "-c", "import time; time.sleep(600)")


def wait_until(condition, what: str, timeout: float = 30.0):
    """Poll ``condition`` until it returns something true; fail after ``timeout`` s (a hang guard, not a timing
    claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead all the same.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(")")[-1].split()[0] != "Z"


class Running:
    """A supervisor looping in a thread, as ``inv run-local`` runs it in the foreground."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.lines: list[str] = []
        supervisor.say = self.lines.append
        self.thread = threading.Thread(target=supervisor.run, daemon=True)

    def __enter__(self) -> Supervisor:
        self.thread.start()
        return self.supervisor

    def __exit__(self, *exc) -> None:
        self.supervisor.stop()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def supervisor(programs, tmp_path, **options) -> Supervisor:
    defaults = {"initial_backoff": 0.05, "max_backoff": 0.4, "stable_after": 60.0, "stop_timeout": 10.0}
    return Supervisor(programs, cwd=tmp_path, environment=dict(os.environ), poll_interval=0.02, **(defaults | options))


def test_restart_delay_doubles_up_to_the_maximum():
    delays = [restart_delay(failures, initial=1.0, maximum=30.0) for failures in range(1, 8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_killed_program_comes_back_and_the_others_keep_running(tmp_path):
    running = Running(supervisor([Program("web", SLEEPER), Program("worker", SLEEPER)], tmp_path))
    with running as sup:
        web, worker = wait_until(lambda: (sup.pid("web"), sup.pid("worker")) if sup.pid("worker") else None, "start")
        os.kill(worker, signal.SIGKILL)
        restarted = wait_until(lambda: sup.pid("worker") not in (None, worker) and sup.pid("worker"), "the restart")
        assert sup.pid("web") == web, "the web server was not touched"
        assert alive(restarted)
        assert sup.child("worker").starts == 2
        assert sup.child("web").starts == 1
    assert not alive(web)
    assert not alive(restarted)
    assert any(line.startswith("worker was killed by signal 9") for line in running.lines), running.lines


def test_a_crashing_program_backs_off_exponentially(tmp_path):
    crasher = Program("worker", (sys.executable, "-c", "raise SystemExit(3)"))
    running = Running(supervisor([Program("web", SLEEPER), crasher], tmp_path))
    with running as sup:
        wait_until(lambda: sup.child("worker").starts >= 6, "six starts", timeout=60)
        web = sup.pid("web")
        assert web is not None
    assert sup.child("worker").history[:5] == [0.05, 0.1, 0.2, 0.4, 0.4]
    assert sup.child("web").starts == 1
    assert "worker exited with code 3" in "\n".join(running.lines)


def test_a_program_that_ran_long_enough_restarts_at_the_first_delay(tmp_path):
    # stable_after=0: every run counts as stable, so each exit starts the backoff over.
    crasher = Program("worker", (sys.executable, "-c", "raise SystemExit(1)"))
    with Running(supervisor([crasher], tmp_path, stable_after=0.0)) as sup:
        wait_until(lambda: sup.child("worker").starts >= 4, "four starts")
    assert set(sup.child("worker").history[:3]) == {0.05}


def test_stopping_ends_each_program_and_its_children(tmp_path):
    # A program that starts a child of its own and waits on it, like the development server's reloader.
    pid_file = tmp_path / "grandchild.pid"
    parent = (
        sys.executable,
        "-c",
        "import subprocess, sys, pathlib; "
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        f"pathlib.Path({str(pid_file)!r}).write_text(str(p.pid)); p.wait()",
    )
    with Running(supervisor([Program("web", parent)], tmp_path)) as sup:
        grandchild = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), "the grandchild"))
        web = sup.pid("web")
        assert web is not None
        assert alive(grandchild)
    assert not alive(web)
    wait_until(lambda: not alive(grandchild), "the grandchild to go")


def test_an_optional_program_runs_only_with_its_variable(tmp_path):
    programs = [Program("web", SLEEPER), Program("bridge", SLEEPER, when_set="IOTILE_TEST_BRIDGE_URL")]
    without = Supervisor(programs, cwd=tmp_path, environment={"PATH": os.environ["PATH"]})
    with_it = Supervisor(programs, cwd=tmp_path, environment={"IOTILE_TEST_BRIDGE_URL": "mqtt://x"})
    assert [child.program.name for child in without.children] == ["web"]
    assert [child.program.name for child in with_it.children] == ["web", "bridge"]
