"""Queue actions: classes registered by name. A message carries only that name and JSON arguments; the worker looks
the name up in :data:`registry`, so no module path from a message is ever imported.

Declaring an action (in ``<app>/jobs.py``, which the worker app imports at start-up)::

    @register_action
    class ProcessReport(Action):
        required_arguments = ("report_id",)
        optional_arguments = ("reprocess",)
        timeout = 600
        retry = RetryPolicy(max_attempts=5, backoff=30, max_backoff=3600)

        def execute(self, arguments):
            ...  # raise PermanentError for bad input, RetriableError for a transient failure

An action that gains from handling several messages together sets ``batched = True`` and implements
``execute_batch`` (see :class:`Action`).

Enqueueing is by name (``server.apps.worker.queue``), so a service never imports the module that declares the
action::

    enqueue_on_commit("ProcessReport", {"report_id": str(report.pk)})   # after the surrounding transaction commits
    enqueue("ProcessReport", {"report_id": str(report.pk)}, delay=120)  # now (outside a transaction)
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import InterfaceError, OperationalError

from server.apps.core.errors import ApplicationError


class ActionError(Exception):
    """Base of the errors an action raises on purpose."""


class RetriableError(ActionError):
    """A transient failure (a service is down, a lock is busy): the message is retried with backoff."""

    def __init__(self, message: str = "", *, delay: float | None = None) -> None:
        super().__init__(message)
        # Overrides the policy's backoff for this retry when set.
        self.delay = delay


class PermanentError(ActionError):
    """Bad input or a state that will not change: the message goes to the dead letters at once."""


class ActionTimeoutError(ActionError):
    """The action ran longer than its ``timeout``."""


class ActionArgumentError(ApplicationError):
    """Missing, unexpected or non-JSON arguments (raised when enqueued and checked again before ``execute``)."""


class ActionRegistryError(Exception):
    """Two different classes claim one action name, or a message names no registered action."""


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts every delivery, the first included. The n-th retry waits
    ``min(backoff * factor ** (n - 1), max_backoff)`` seconds."""

    max_attempts: int = 3
    backoff: float = 30.0
    factor: float = 2.0
    max_backoff: float = 3600.0

    def delay(self, attempt: int) -> float:
        """The wait before the attempt after ``attempt`` (1-based)."""
        return float(min(self.backoff * self.factor ** max(attempt - 1, 0), self.max_backoff))


# A lost database connection or a dropped socket is worth another try; anything else is a bug or bad input.
DEFAULT_RETRIABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    RetriableError,
    ActionTimeoutError,
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)


class Action:
    """A unit of queued work. Subclasses set ``execute`` and, when they differ from the defaults, the class
    attributes below. One instance is made per execution."""

    name: ClassVar[str] = ""  # the registry key; defaults to the class name
    queue: ClassVar[str] = "default"
    required_arguments: ClassVar[tuple[str, ...]] = ()
    optional_arguments: ClassVar[tuple[str, ...]] = ()
    timeout: ClassVar[float | None] = 300.0  # seconds; None for no limit
    retry: ClassVar[RetryPolicy] = RetryPolicy()
    retriable_exceptions: ClassVar[tuple[type[BaseException], ...]] = DEFAULT_RETRIABLE_EXCEPTIONS
    # An action whose messages gain from being handled together sets ``batched`` and implements ``execute_batch``:
    # the worker then hands it all of its messages from one receive at once, and ``timeout`` bounds the batch.
    batched: ClassVar[bool] = False

    def execute(self, arguments: dict[str, Any]) -> None:
        """Do the work of one message. A batched action need not define it: one message is a batch of one."""
        if not self.batched:
            raise NotImplementedError
        for _position, error in self.execute_batch([arguments]):
            if error is not None:
                raise error

    def execute_batch(self, arguments: list[dict[str, Any]]) -> Generator[tuple[int, Exception | None], None, None]:
        """Yield ``(position, error or None)`` for each of ``arguments`` as soon as it is done, in any order. The
        worker settles each message as its outcome arrives; a position never yielded (the generator raised, or
        the batch ran out of time) is retried."""
        raise NotImplementedError

    @classmethod
    def check_arguments(cls, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """Return ``arguments`` if they fit the declaration and survive JSON; raise :class:`ActionArgumentError`."""
        arguments = {} if arguments is None else arguments
        if not isinstance(arguments, dict):
            raise ActionArgumentError(f"{cls.name}: arguments must be a JSON object")
        missing = [key for key in cls.required_arguments if key not in arguments]
        unexpected = sorted(set(arguments) - set(cls.required_arguments) - set(cls.optional_arguments))
        if missing or unexpected:
            raise ActionArgumentError(
                f"{cls.name}: missing arguments {missing}, unexpected arguments {unexpected}",
                extra={"missing": missing, "unexpected": unexpected},
            )
        try:
            if json.loads(json.dumps(arguments)) != arguments:
                raise ValueError("arguments change in a JSON round trip")
        except (TypeError, ValueError) as exc:
            raise ActionArgumentError(f"{cls.name}: arguments must be plain JSON values ({exc})") from exc
        return arguments


def _path(action: type[Action]) -> str:
    return f"{action.__module__}.{action.__qualname__}"


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, type[Action]] = {}

    def register(self, action: type[Action]) -> type[Action]:
        if not (isinstance(action, type) and issubclass(action, Action)):
            raise ActionRegistryError(f"{action!r} is not an Action subclass")
        if "name" not in action.__dict__ or not action.name:
            action.name = action.__name__
        existing = self._actions.get(action.name)
        if existing is not None and _path(existing) != _path(action):
            raise ActionRegistryError(f"action name {action.name!r} is taken by {_path(existing)}")
        self._actions[action.name] = action
        return action

    def unregister(self, name: str) -> None:
        self._actions.pop(name, None)

    def get(self, name: str) -> type[Action] | None:
        return self._actions.get(name)

    def names(self) -> list[str]:
        return sorted(self._actions)

    def __contains__(self, name: object) -> bool:
        return name in self._actions


registry = ActionRegistry()


def register_action(action: type[Action]) -> type[Action]:
    """Class decorator: add the action to the registry under ``action.name`` (the class name by default)."""
    return registry.register(action)


def get_action(name: str) -> type[Action] | None:
    return registry.get(name)
