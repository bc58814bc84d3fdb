"""The process supervisor behind ``inv run-local``: it runs the platform's processes side by side (web server,
worker, and any optional one), restarts one that exits with exponential backoff while the others keep serving, and
stops them all on Ctrl-C or SIGTERM.

A process is one ``Program`` entry in the list ``tasks.py`` hands over; one that only makes sense with some
configuration names the variable that switches it on (``when_set="MQTT_URL"``).

Each child runs in a process group of its own, so a terminal's Ctrl-C reaches the supervisor alone, which then
stops every child in order (SIGTERM to its group, SIGKILL after ``stop_timeout``), and so a child's own children (the
development server's reloader) go with it. On Linux a child also gets SIGTERM if the supervisor itself dies.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

# prctl(PR_SET_PDEATHSIG, …): the signal a child receives when its parent dies.
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Program:
    """One process to keep running: a name for the messages, the command, and the environment variable that must
    be set for it to run at all (empty: always)."""

    name: str
    command: tuple[str, ...]
    when_set: str = ""

    def wanted(self, environment: Mapping[str, str]) -> bool:
        return not self.when_set or bool(environment.get(self.when_set, ""))


def restart_delay(failures: int, *, initial: float, maximum: float) -> float:
    """Seconds to wait before restarting a program that failed ``failures`` times in a row: ``initial``, doubled
    each time, at most ``maximum``."""
    return float(min(maximum, initial * 2 ** max(0, failures - 1)))


@dataclass
class _Child:
    program: Program
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # exits in a row, each before the program had run `stable_after` seconds
    restart_at: float | None = None
    starts: int = 0
    history: list[float] = field(default_factory=list)  # the restart delays chosen, in order


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(
        self,
        programs: Sequence[Program],
        *,
        cwd: str | os.PathLike[str],
        environment: Mapping[str, str],
        initial_backoff: float = 1.0,
        max_backoff: float = 30.0,
        stable_after: float = 30.0,
        stop_timeout: float = 20.0,
        poll_interval: float = 0.2,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.cwd = cwd
        self.environment = dict(environment)
        self.children = [_Child(program) for program in programs if program.wanted(self.environment)]
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.stop_timeout = stop_timeout
        self.poll_interval = poll_interval
        self.say = say or (lambda text: print(f"run-local: {text}", flush=True))
        self._stop = threading.Event()

    # Control

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask the loop to stop every child and return (a signal handler, or any thread)."""
        self._stop.set()

    def pid(self, name: str) -> int | None:
        """The running process of the program called ``name``, if any."""
        for child in self.children:
            if child.program.name == name and child.process is not None and child.process.poll() is None:
                return child.process.pid
        return None

    def child(self, name: str) -> _Child:
        return next(child for child in self.children if child.program.name == name)

    # The loop

    def run(self) -> int:
        """Start every wanted program and keep them running until :meth:`stop`, SIGTERM or Ctrl-C; then stop them
        all. Returns 0."""
        handlers = self._install_signal_handlers()
        try:
            for child in self.children:
                self._start(child)
            while not self._stop.is_set():
                now = time.monotonic()
                for child in self.children:
                    self._look_after(child, now)
                self._stop.wait(self.poll_interval)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop_all()
            for number, handler in handlers.items():
                signal.signal(number, handler)
        return 0

    def _install_signal_handlers(self) -> dict[int, signal._HANDLER]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {number: signal.signal(number, self.stop) for number in (signal.SIGTERM, signal.SIGINT)}

    def _start(self, child: _Child) -> None:
        child.process = subprocess.Popen(
            child.program.command,
            cwd=self.cwd,
            env=self.environment,
            process_group=0,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        child.starts += 1
        again = f" (restart {child.starts - 1})" if child.starts > 1 else ""
        self.say(f"started {child.program.name}{again}, pid {child.process.pid}")

    def _look_after(self, child: _Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                self._start(child)
            return
        assert child.process is not None, "a child is either running or waiting for its restart"
        code = child.process.poll()
        if code is None:
            return
        ran = now - child.started_at
        child.failures = 1 if ran >= self.stable_after else child.failures + 1
        delay = restart_delay(child.failures, initial=self.initial_backoff, maximum=self.max_backoff)
        child.history.append(delay)
        child.restart_at = now + delay
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        self.say(f"{child.program.name} {how} after {ran:.1f} s; restarting it in {delay:g} s")

    def _stop_all(self) -> None:
        running = [child for child in self.children if child.process is not None and child.process.poll() is None]
        for child in running:
            assert child.process is not None
            self.say(f"stopping {child.program.name} (pid {child.process.pid})")
            self._signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.program.name} did not stop in {self.stop_timeout:g} s; killing it")
                self._signal_group(child.process, signal.SIGKILL)
                child.process.wait()
            # Whatever the child left in its group (a reloader's server process) goes too.
            self._signal_group(child.process, signal.SIGKILL)

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], number: int) -> None:
        try:
            os.killpg(process.pid, number)
        except ProcessLookupError:
            pass
