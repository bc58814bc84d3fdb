"""The stores' queue action: S3 event notifications of new objects, which the SQS transport reads off the worker's
queue as this action (docs/stores.md)."""

from __future__ import annotations

from typing import Any

from server.apps.stores.services import store_objects_created
from server.apps.worker.actions import Action, RetryPolicy, register_action


@register_action
class StoreObjectsCreated(Action):
    """New objects in the stores' buckets (``objects``: ``[[bucket, key], …]``, as S3 names them), handed to the
    apps that watch their stores (``register_store_watch``). The SQS transport names S3's messages so
    (``S3_EVENT_ACTION``). A failure is retried; watchers are idempotent."""

    required_arguments = ("objects",)
    timeout = 300
    retry = RetryPolicy(max_attempts=5, backoff=10, factor=2, max_backoff=300)

    def execute(self, arguments: dict[str, Any]) -> None:
        store_objects_created(objects=[(str(bucket), str(key)) for bucket, key in arguments["objects"]])
