"""Actions used only by the worker's tests. They record what they did in files named by their arguments, so a worker
in another process can be observed too. ``register_test_actions()`` adds them to the registry."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from server.apps.worker.actions import Action, PermanentError, RetriableError, RetryPolicy, registry


class RecordCall(Action):
    """Appends its ``value`` to the file ``log``."""

    name = "test.RecordCall"
    required_arguments = ("log",)
    optional_arguments = ("value",)

    def execute(self, arguments: dict[str, Any]) -> None:
        with open(arguments["log"], "a") as log:
            log.write(f"{arguments.get('value', '')}\n")


class AlwaysRetriable(Action):
    name = "test.AlwaysRetriable"
    optional_arguments = ("delay",)
    retry = RetryPolicy(max_attempts=3, backoff=0)

    def execute(self, arguments: dict[str, Any]) -> None:
        raise RetriableError("the service is busy", delay=arguments.get("delay"))


class SlowBackoff(Action):
    name = "test.SlowBackoff"
    retry = RetryPolicy(max_attempts=3, backoff=600)

    def execute(self, arguments: dict[str, Any]) -> None:
        raise ConnectionError("the service went away")


class BadInput(Action):
    name = "test.BadInput"

    def execute(self, arguments: dict[str, Any]) -> None:
        raise PermanentError("the report is truncated")


class Buggy(Action):
    name = "test.Buggy"

    def execute(self, arguments: dict[str, Any]) -> None:
        raise ValueError("a bug")


class TooSlow(Action):
    name = "test.TooSlow"
    timeout = 0.2
    retry = RetryPolicy(max_attempts=2, backoff=0)

    def execute(self, arguments: dict[str, Any]) -> None:
        time.sleep(30)


class SleepThenRecord(Action):
    """Touches ``started``, sleeps ``seconds``, then touches ``finished``: a message in progress for shutdown tests."""

    name = "test.SleepThenRecord"
    required_arguments = ("started", "finished", "seconds")

    def execute(self, arguments: dict[str, Any]) -> None:
        Path(arguments["started"]).touch()
        time.sleep(arguments["seconds"])
        Path(arguments["finished"]).touch()


class Batched(Action):
    """A batched action: appends the ``value`` of each message of a batch to the file ``log`` as one line
    (``a,b,c``), then settles them last first, each as its ``outcome`` says: ``ok``, ``retry`` (a retriable error),
    ``bad`` (a permanent one), ``stop`` (the generator raises, leaving it and the rest without an outcome) or
    ``hang`` (sleeps past the batch's timeout)."""

    name = "test.Batched"
    required_arguments = ("log", "value")
    optional_arguments = ("outcome",)
    batched = True
    timeout = 0.5
    retry = RetryPolicy(max_attempts=2, backoff=0)

    def execute_batch(self, arguments: list[dict[str, Any]]):
        with open(arguments[0]["log"], "a") as log:
            log.write(",".join(each["value"] for each in arguments) + "\n")
        for position in reversed(range(len(arguments))):
            outcome = arguments[position].get("outcome", "ok")
            if outcome == "stop":
                raise ValueError(f"the batch broke at {arguments[position]['value']}")
            if outcome == "hang":
                time.sleep(30)
            errors = {"retry": RetriableError("try later"), "bad": PermanentError("bad input")}
            yield position, errors.get(outcome)


TEST_ACTIONS = (RecordCall, AlwaysRetriable, SlowBackoff, BadInput, Buggy, TooSlow, SleepThenRecord, Batched)


def register_test_actions() -> None:
    for action in TEST_ACTIONS:
        registry.register(action)


def unregister_test_actions() -> None:
    for action in TEST_ACTIONS:
        registry.unregister(action.name)
