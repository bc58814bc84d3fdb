"""The registry, argument checks, retry policy and scheduling through the configured transport."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction

from server.apps.core.errors import ApplicationError
from server.apps.worker.actions import (
    Action,
    ActionArgumentError,
    ActionRegistry,
    ActionRegistryError,
    RetryPolicy,
    get_action,
    registry,
)
from server.apps.worker.models import QueueMessage
from server.apps.worker.queue import enqueue, enqueue_on_commit
from server.apps.worker.tests.actions import RecordCall


class Plain(Action):
    required_arguments = ("report_id",)
    optional_arguments = ("reprocess",)


def test_the_decorator_registers_under_the_class_name_or_the_declared_name():
    local = ActionRegistry()
    local.register(Plain)
    assert local.get("Plain") is Plain
    assert "Plain" in local
    assert local.get("test.RecordCall") is None
    local.register(RecordCall)
    assert local.names() == ["Plain", "test.RecordCall"]


def test_registering_twice_is_harmless_but_a_second_class_under_one_name_is_refused():
    local = ActionRegistry()
    local.register(Plain)
    local.register(Plain)

    class Other(Action):
        name = "Plain"

    with pytest.raises(ActionRegistryError, match="taken by"):
        local.register(Other)
    with pytest.raises(ActionRegistryError, match="not an Action"):
        local.register(dict)


def test_the_platform_actions_are_registered_at_start_up():
    assert get_action("WorkerSelfTest") is not None
    assert get_action("WorkerRunCleanup") is not None
    assert "test.RecordCall" in registry


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, r"missing arguments \['report_id'\]"),
        ({"report_id": 1, "extra": 2}, r"unexpected arguments \['extra'\]"),
        ({"report_id": datetime.date(2024, 1, 1)}, "plain JSON values"),
        ({"report_id": (1, 2)}, "plain JSON values"),
        ([1], "must be a JSON object"),
    ],
)
def test_arguments_must_fit_the_declaration_and_json(arguments, message):
    with pytest.raises(ActionArgumentError, match=message) as raised:
        Plain.check_arguments(arguments)
    assert isinstance(raised.value, ApplicationError)


def test_fitting_arguments_pass():
    assert Plain.check_arguments({"report_id": 7, "reprocess": True}) == {"report_id": 7, "reprocess": True}


def test_the_backoff_grows_and_is_capped():
    policy = RetryPolicy(max_attempts=10, backoff=30, factor=2, max_backoff=100)
    assert [policy.delay(attempt) for attempt in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_enqueue_by_name_goes_through_the_postgres_transport(db, transport):
    message_id = enqueue(RecordCall.name, {"log": "/tmp/x", "value": 1}, delay=0)
    message = QueueMessage.objects.get(pk=message_id)
    assert (message.queue, message.action, message.arguments, message.attempts) == (
        "default",
        "test.RecordCall",
        {"log": "/tmp/x", "value": 1},
        0,
    )


def test_an_unknown_action_name_enqueues_nothing(db, transport):
    with pytest.raises(ActionRegistryError, match=r"no action is registered as 'test\.Nope'"):
        enqueue("test.Nope", {})
    with pytest.raises(ActionRegistryError):
        enqueue_on_commit("test.Nope", {})
    assert not QueueMessage.objects.exists()


def test_bad_arguments_enqueue_nothing(db, transport):
    with pytest.raises(ActionArgumentError):
        enqueue(RecordCall.name, {"value": 1})
    assert not QueueMessage.objects.exists()


def test_enqueue_on_commit_writes_the_message_in_the_callers_transaction(transactional_db, transport):
    """With the PostgreSQL queue the message commits with the caller's rows, or is rolled back with them."""

    def fail_after_enqueueing() -> None:
        with transaction.atomic():
            enqueue_on_commit(RecordCall.name, {"log": "/tmp/x"})
            assert QueueMessage.objects.get().action == "test.RecordCall"
            raise RuntimeError("the caller fails")

    with pytest.raises(RuntimeError):
        fail_after_enqueueing()
    assert not QueueMessage.objects.exists()
    with transaction.atomic():
        enqueue_on_commit(RecordCall.name, {"log": "/tmp/x"})
    assert QueueMessage.objects.get().action == "test.RecordCall"


def test_enqueue_on_commit_checks_the_arguments_at_once(db, transport):
    with pytest.raises(ActionArgumentError):
        enqueue_on_commit(RecordCall.name, {"nope": 1})
