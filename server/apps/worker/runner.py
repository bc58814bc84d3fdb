"""The worker loop: receive, execute under a time limit, carry out the outcome, log the run.

The loop only drives. Whether a message may run and what becomes of it afterwards (acknowledge, retry, dead letter)
is the policy's answer (``policy.py``); periodic jobs are the scheduler's (``scheduler.py``), which the loop ticks.

``run_worker(burst=True)`` drains the queue in-process (tests, one-off runs); ``manage.py worker`` runs the loop
until SIGTERM or SIGINT, finishing the message in hand first.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from server.apps.core.logs import log_context
from server.apps.worker import policy
from server.apps.worker.actions import Action, ActionTimeoutError, get_action
from server.apps.worker.identity import worker_identity
from server.apps.worker.lease import LeaseKeeper
from server.apps.worker.models import WorkerRunStatus
from server.apps.worker.policy import Admission, Outcome
from server.apps.worker.scheduler import scheduler_tick
from server.apps.worker.services import dead_letter_create, worker_run_record
from server.apps.worker.transports import Message, Transport, get_transport

logger = logging.getLogger(__name__)

ERROR_PAUSE_SECONDS = 5.0


@contextmanager
def time_limit(seconds: float | None, what: str, message: str = "") -> Iterator[None]:
    """Raise :class:`ActionTimeoutError` (with ``message``, or one made of ``what``) in the block after ``seconds``
    (SIGALRM; main thread only)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise ActionTimeoutError(message or f"{what} ran longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def close_stale_connections() -> None:
    """Drop connections that broke or outlived CONN_MAX_AGE, as Django does between requests. Never inside an
    atomic block (a test's transaction, or a caller's), where closing would abort the caller's work."""
    if not any(connection.in_atomic_block for connection in connections.all(initialized_only=True)):
        close_old_connections()


def message_log_context(messages: list[Message]) -> AbstractContextManager[None]:
    """Every log line about the messages carries ``message-<id>`` (a batch: ``messages-<id>,…``) as its request id
    and, as its correlation id, the one the messages were enqueued with (the request's that queued them; a batch's
    distinct ones joined), else its request id (core/logs.py)."""
    label = ("message-" if len(messages) == 1 else "messages-") + ",".join(str(message.id) for message in messages)
    correlations = ",".join(dict.fromkeys(message.correlation_id for message in messages if message.correlation_id))
    return log_context(request=label, correlation=correlations[:1000])


@dataclass
class WorkerStats:
    received: int = 0
    succeeded: int = 0
    retried: int = 0
    dead: int = 0
    errors: int = 0  # the worker's own failures (e.g. the database was down while logging a run)


class Worker:
    def __init__(
        self,
        *,
        transport: Transport | None = None,
        queue: str = "default",
        batch_size: int = 1,
        wait: float | None = None,
        burst: bool = False,
        once: bool = False,
        max_messages: int | None = None,
        scheduler: bool = False,
        handle_signals: bool = False,
        worker_id: str | None = None,
    ) -> None:
        self.transport = transport or get_transport()
        self.queue = queue
        self.batch_size = max(1, batch_size)
        self.wait = settings.WORKER_WAIT_SECONDS if wait is None else wait
        self.burst = burst
        self.once = once
        self.max_messages = max_messages
        self.scheduler = scheduler
        self.handle_signals = handle_signals
        self.worker_id = worker_id or worker_identity()
        self.stats = WorkerStats()
        self.leases = LeaseKeeper(self.transport, worker_id=self.worker_id)
        self.stopping = False
        self._next_tick = 0.0

    # Shutdown

    def request_stop(self, signum: int | None = None, frame=None) -> None:
        if self.stopping and signum is not None:
            # A second signal: stop now; the message in hand reappears when its lease runs out.
            raise SystemExit(1)
        logger.info("worker %s: stopping after the current message", self.worker_id)
        self.stopping = True

    @contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {number: signal.signal(number, self.request_stop) for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))

    # The loop

    def _tick_scheduler(self) -> None:
        if not self.scheduler or time.monotonic() < self._next_tick:
            return
        self._next_tick = time.monotonic() + settings.WORKER_SCHEDULER_TICK_SECONDS
        try:
            scheduler_tick()
        except Exception:
            self.stats.errors += 1
            logger.exception("worker %s: the scheduler tick failed", self.worker_id)

    def _room(self) -> int:
        if self.max_messages is None:
            return self.batch_size
        return min(self.batch_size, self.max_messages - self.stats.received)

    def run(self) -> WorkerStats:
        self._release_abandoned()
        self.leases.start()
        try:
            with self._signal_handlers():
                return self._loop()
        finally:
            self.leases.stop()
            self.transport.close()

    def _release_abandoned(self) -> None:
        """Take back at once what a worker that died on this host still holds (a restart after a crash)."""
        try:
            released = self.transport.release_abandoned(worker_id=self.worker_id)
        except Exception:
            self.stats.errors += 1
            logger.exception("worker %s: could not take back the messages of dead workers", self.worker_id)
            return
        if released:
            logger.warning(
                "worker %s: took back %d message(s) of a worker that died on this host", self.worker_id, released
            )

    def _loop(self) -> WorkerStats:
        logger.info("worker %s: %s queue %r", self.worker_id, self.transport.name, self.queue)
        while not self.stopping and self._room() > 0:
            self._tick_scheduler()
            close_stale_connections()
            try:
                messages = self.transport.receive(
                    queue=self.queue,
                    max_messages=self._room(),
                    wait=0 if self.burst else self.wait,
                    worker_id=self.worker_id,
                    should_stop=lambda: self.stopping,
                )
            except Exception:
                self.stats.errors += 1
                logger.exception("worker %s: receiving failed", self.worker_id)
                if self.burst or self.once:
                    break
                self._pause(ERROR_PAUSE_SECONDS)
                continue
            self.leases.hold(messages, seconds=policy.hold_seconds([get_action(m.action) for m in messages]))
            try:
                self._handle(messages)
            finally:
                for message in messages:  # settled, or the worker failed it: its lease is left to run out
                    self.leases.drop(message)
            if self.once or (not messages and self.burst):
                break
        logger.info("worker %s: stopped (%s)", self.worker_id, self.stats)
        return self.stats

    def _handle(self, messages: list[Message]) -> None:
        """One receive's messages: those of a batched action together, after the others, which go one by one."""
        batches: dict[type[Action], list[Message]] = {}
        for message in messages:
            if self.stopping:
                self.leases.drop(message)
                self.transport.release(message)  # not started: hand it straight back
                continue
            self.stats.received += 1
            action = get_action(message.action)
            if len(messages) > 1 and action is not None and action.batched and not message.error:
                batches.setdefault(action, []).append(message)
            else:
                with message_log_context([message]):
                    self.process(message)
        for action, batch in batches.items():
            with message_log_context(batch):
                self.process_batch(action, batch)

    # One message

    def process(self, message: Message) -> str | None:
        """Handle one delivery; never raises. Returns the run status (None if the worker itself failed)."""
        started_at, start = timezone.now(), time.monotonic()
        try:
            outcome = self._execute(message)
        except Exception:
            self._failed("handle", message, message.action)
            close_stale_connections()
            return None
        close_stale_connections()
        self._record(message, outcome, started_at, start)
        return outcome.status

    def _failed(self, what: str, message: Message, action_name: str) -> None:
        """The worker itself failed to ``what`` (handle, settle) a message: counted and logged with its traceback."""
        self.stats.errors += 1
        logger.exception("worker %s: could not %s message %s (%s)", self.worker_id, what, message.id, action_name)

    def _record(self, message: Message, outcome: Outcome, started_at, start: float) -> None:
        try:
            worker_run_record(
                message=message,
                status=outcome.status,
                started_at=started_at,
                duration=time.monotonic() - start,
                error=outcome.error,
                worker_id=self.worker_id,
            )
        except Exception:
            self.stats.errors += 1
            logger.exception("worker %s: could not log the run of message %s", self.worker_id, message.id)

    # Several messages of one batched action

    def process_batch(self, action: type[Action], messages: list[Message]) -> None:
        """Handle the messages of one batched action together; never raises. Each message is acknowledged (or
        retried, or dead-lettered) and its run logged as its outcome arrives; its run spans the time since the
        previous outcome. ``action.timeout`` bounds the batch: what has no outcome by then is retried."""
        started_at, start = timezone.now(), time.monotonic()
        admitted: list[tuple[Message, dict]] = []
        for message in messages:
            try:
                admission = self._admit(action, message)
            except Exception:
                self._failed("handle", message, action.name)
                continue
            if admission.refusal is None:
                admitted.append((message, admission.arguments))
            else:
                self._record(message, admission.refusal, started_at, start)
        if not admitted:
            close_stale_connections()
            return
        remaining = dict(enumerate(message for message, _ in admitted))
        deadline = time.monotonic() + action.timeout if action.timeout else None
        outcomes = action().execute_batch([arguments for _, arguments in admitted])
        stopped: Exception | None = None
        overtime = f"{action.name} ran longer than {action.timeout:g} s"
        try:
            while remaining:
                budget = None if deadline is None else deadline - time.monotonic()
                if budget is not None and budget <= 0:
                    raise ActionTimeoutError(overtime)
                with time_limit(budget, action.name, overtime):
                    item = next(outcomes, None)
                if item is None:
                    break
                position, exc = item
                message = remaining.pop(position)
                settled = self._settle(action, message, exc, start, close_connections=False)
                self._record(message, settled, started_at, start)
                started_at, start = timezone.now(), time.monotonic()
        except Exception as exc:  # the batch stopped: out of time, or the action itself failed
            stopped = exc
        finally:
            outcomes.close()  # a write still in flight is cancelled and rolled back
        for message in remaining.values():
            cause = stopped or ActionTimeoutError(f"{action.name} ended its batch without an outcome for this message")
            try:
                settled = self._settle(action, message, cause, start, close_connections=False)
            except Exception:  # the queue itself failed (its database restarting): the lease is left to run out
                self._failed("settle", message, action.name)
                continue
            self._record(message, settled, started_at, start)
        close_stale_connections()

    def _execute(self, message: Message) -> Outcome:
        start = time.monotonic()
        action = get_action(message.action)
        admission = self._admit(action, message)
        if admission.refusal is not None:
            return admission.refusal
        assert action is not None, "policy.admit refuses a message naming no registered action"
        try:
            with time_limit(action.timeout, action.name):
                action().execute(admission.arguments)
        except Exception as exc:
            return self._settle(action, message, exc, start)
        return self._settle(action, message, None, start)

    def _admit(self, action: type[Action] | None, message: Message) -> Admission:
        """The policy's admission of ``message``: a refused one is dead-lettered here."""
        admission = policy.admit(action, message)
        if admission.refusal is not None:
            self._carry_out(message, admission.refusal, time.monotonic())
        return admission

    def _settle(
        self, action: type[Action], message: Message, exc: Exception | None, start: float, *, close_connections=True
    ) -> Outcome:
        """Acknowledge a message whose action succeeded (``exc`` None); else retry or dead-letter it, as the policy
        says."""
        if exc is not None and close_connections:
            close_stale_connections()  # the failure may have broken a connection
        return self._carry_out(message, policy.outcome(action, message, exc), start)

    def _carry_out(self, message: Message, outcome: Outcome, start: float) -> Outcome:
        """Do what ``outcome`` says with ``message``: acknowledge it, hand it back for a retry, or record its dead
        letter and acknowledge it."""
        self.leases.drop(message)
        if outcome.dead_letter:
            logger.error(
                "worker %s: %s %s → dead letter: %s", self.worker_id, message.action, message.id, outcome.error
            )
            dead_letter_create(message=message, error=outcome.error, traceback=outcome.traceback)
            self.transport.ack(message)
            self.stats.dead += 1
        elif outcome.status == WorkerRunStatus.RETRY:
            logger.warning(
                "worker %s: %s %s attempt %d failed, retry in %g s: %s",
                self.worker_id,
                message.action,
                message.id,
                message.attempt,
                outcome.retry_delay,
                outcome.error,
            )
            self.transport.retry(message, delay=outcome.retry_delay)
            self.stats.retried += 1
        else:
            if not self.transport.ack(message):
                logger.warning(
                    "worker %s: message %s was handed to another worker meanwhile", self.worker_id, message.id
                )
            self.stats.succeeded += 1
            logger.info(
                "worker %s: %s %s done in %.3f s", self.worker_id, message.action, message.id, time.monotonic() - start
            )
        return outcome


def run_worker(**options) -> WorkerStats:
    """Run a :class:`Worker` with ``options`` in this process; ``run_worker(burst=True)`` drains the queue."""
    return Worker(**options).run()
