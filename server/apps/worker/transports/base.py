"""The interface every queue transport offers the worker and ``Action.schedule``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    """One delivery of a queued message. ``attempt`` counts deliveries, this one included."""

    id: str
    action: str
    arguments: dict[str, Any]
    attempt: int
    queue: str
    receipt: str  # proves this delivery when acknowledging or retrying it
    error: str = ""  # set when the body could not be read; the worker dead-letters such a message
    # The correlation id of the work that enqueued it (a request's, or an earlier message's): the worker's log lines
    # about the message carry it, so one piece of work can be followed from the request through the queue.
    correlation_id: str = ""
    raw: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    ready: int  # may be received now
    in_flight: int  # received, not yet acknowledged
    delayed: int  # waiting for their delay or backoff

    @property
    def total(self) -> int:
        return self.ready + self.in_flight + self.delayed


class Transport(ABC):
    name: str
    lease_seconds: float  # a received message stays hidden from other receivers this long unless renewed
    # The database the queue lives in, when it is one: a message sent on that database's connection inside a
    # transaction commits (and becomes visible) with it. None for a queue outside the databases (SQS).
    database_alias: str | None = None

    @abstractmethod
    def send(
        self,
        action: str,
        arguments: dict[str, Any],
        *,
        delay: float = 0,
        queue: str = "default",
        correlation_id: str = "",
    ) -> str:
        """Enqueue; the message is not delivered before ``delay`` seconds. Returns the message id. The correlation
        id travels in the message beside the arguments."""

    @abstractmethod
    def receive(
        self,
        *,
        queue: str = "default",
        max_messages: int = 1,
        wait: float = 0,
        worker_id: str = "",
        should_stop: Callable[[], bool] | None = None,
    ) -> list[Message]:
        """Take up to ``max_messages`` messages, waiting up to ``wait`` seconds for the first (less once
        ``should_stop`` says so). Each is leased: invisible to other receivers for ``lease_seconds`` unless
        acknowledged, retried or renewed first."""

    @abstractmethod
    def ack(self, message: Message) -> bool:
        """Delete a handled message. False when this delivery no longer owns it (its lease ran out)."""

    @abstractmethod
    def retry(self, message: Message, *, delay: float = 0) -> None:
        """Give the message back, to be delivered again after ``delay`` seconds."""

    @abstractmethod
    def release(self, message: Message) -> None:
        """Give back a message that was received but not started (shutdown); where the transport can, the delivery
        does not count as an attempt."""

    @abstractmethod
    def renew(self, messages: Sequence[Message], *, seconds: float) -> None:
        """Keep the messages invisible for ``seconds`` from now (the lease heartbeat, while their work runs). A
        message whose lease is busy at that moment (being acknowledged) may be skipped."""

    def release_abandoned(self, *, worker_id: str) -> int:
        """Give back at once the messages leased to workers of this host that have died (``worker.identity``), rather
        than when their leases run out; a starting worker (``worker_id``) calls it. Each delivery still counts as an
        attempt. Returns how many. A transport that cannot tell whose a lease is leaves them to run out."""
        return 0

    def close(self) -> None:  # noqa: B027 (most transports hold nothing open)
        """Release what the transport keeps open between receives (the worker calls it when it stops)."""

    @abstractmethod
    def depth(self, *, queue: str = "default") -> QueueDepth:
        """How many messages wait, run and sleep in ``queue``."""
