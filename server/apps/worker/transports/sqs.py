"""The SQS transport (``WORKER_QUEUE=sqs``), through boto3. The logical queue ``default`` is the SQS queue
``WORKER_SQS_QUEUE_NAME``; another logical queue ``q`` is ``<WORKER_SQS_QUEUE_NAME>-q``.

SQS delays a message at most 15 minutes, so a longer delay travels in the body (``not_before``): a message received
early is deleted and sent again with the rest of its delay. The delivery count is SQS's ``ApproximateReceiveCount``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from botocore.exceptions import ClientError
from django.conf import settings

from server.apps.worker.transports.base import Message, QueueDepth, Transport

MAX_DELAY_SECONDS = 900
MAX_VISIBILITY_SECONDS = 43200
MAX_WAIT_SECONDS = 20
MAX_BATCH = 10
# S3 event notifications sent to the queue (their body is S3's, not a message of ours) run as this action with
# ``{"objects": [[bucket, key], …]}`` (the stores app's); S3's test event runs it with no objects.
S3_EVENT_ACTION = "StoreObjectsCreated"


def s3_event_objects(body: Any) -> list[list[str]] | None:
    """The ``[bucket, key]`` of each object an S3 event notification says was created; None for a body that is not
    one. Raises ValueError for one that is malformed."""
    if not isinstance(body, dict) or "action" in body:
        return None
    if body.get("Event") == "s3:TestEvent":
        return []
    records = body.get("Records")
    if not isinstance(records, list) or not records:
        return None
    objects = []
    for record in records:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            raise ValueError("an S3 event record without eventSource aws:s3")
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        try:
            bucket, key = record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"an S3 event record without its bucket or key ({exc})") from exc
        if not isinstance(bucket, str) or not isinstance(key, str):
            raise ValueError("an S3 event record whose bucket or key is not text")
        objects.append([bucket, key])
    return objects


class SqsTransport(Transport):
    name = "sqs"

    def __init__(
        self,
        *,
        queue_name: str | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        create_queue: bool | None = None,
        lease_seconds: float | None = None,
        client: Any = None,
    ) -> None:
        self.queue_name = queue_name or settings.WORKER_SQS_QUEUE_NAME
        self.create_queue = settings.WORKER_SQS_CREATE_QUEUE if create_queue is None else create_queue
        self.lease_seconds = settings.WORKER_LEASE_SECONDS if lease_seconds is None else lease_seconds
        self.client = client or boto3.client(
            "sqs",
            region_name=region or settings.WORKER_SQS_REGION,
            endpoint_url=(endpoint_url or settings.WORKER_SQS_ENDPOINT_URL) or None,
        )
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def sqs_queue_name(self, queue: str) -> str:
        return self.queue_name if queue == "default" else f"{self.queue_name}-{queue}"

    def queue_url(self, queue: str) -> str:
        url = self._urls.get(queue)
        if url is None:
            name = self.sqs_queue_name(queue)
            try:
                url = self.client.get_queue_url(QueueName=name)["QueueUrl"]
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                missing = code.endswith("NonExistentQueue") or code == "QueueDoesNotExist"
                if not (self.create_queue and missing):
                    raise
                url = self.client.create_queue(QueueName=name)["QueueUrl"]
            with self._lock:
                self._urls[queue] = url
        return url

    def _send_body(self, queue: str, body: dict[str, Any], delay: float) -> str:
        response = self.client.send_message(
            QueueUrl=self.queue_url(queue),
            MessageBody=json.dumps(body),
            DelaySeconds=min(math.ceil(max(delay, 0)), MAX_DELAY_SECONDS),
        )
        return response["MessageId"]

    def send(
        self,
        action: str,
        arguments: dict[str, Any],
        *,
        delay: float = 0,
        queue: str = "default",
        correlation_id: str = "",
    ) -> str:
        body: dict[str, Any] = {"action": action, "arguments": arguments}
        if correlation_id:
            body["correlation_id"] = correlation_id
        if delay > MAX_DELAY_SECONDS:
            body["not_before"] = time.time() + delay
        return self._send_body(queue, body, delay)

    def _message(self, queue: str, raw: dict[str, Any]) -> Message:
        attempt = int(raw.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        message = Message(
            id=raw["MessageId"],
            action="",
            arguments={},
            attempt=attempt,
            queue=queue,
            receipt=raw["ReceiptHandle"],
            raw=raw,
        )
        try:
            body = json.loads(raw["Body"])
            objects = s3_event_objects(body)
            if objects is not None:
                message.action, message.arguments = S3_EVENT_ACTION, {"objects": objects}
                return message
            if not isinstance(body, dict) or not isinstance(body.get("action"), str):
                raise ValueError("the body has no action name")
            arguments = body.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise ValueError("the arguments are not an object")
        except ValueError as exc:
            message.error = f"unreadable message body: {exc}"
            message.arguments = {"body": raw["Body"][:10000]}
            return message
        message.action, message.arguments = body["action"], arguments
        message.correlation_id = str(body.get("correlation_id") or "")[:128]
        message.raw = {**raw, "decoded": body}
        return message

    def receive(
        self,
        *,
        queue: str = "default",
        max_messages: int = 1,
        wait: float = 0,
        worker_id: str = "",
        should_stop: Callable[[], bool] | None = None,
    ) -> list[Message]:
        response = self.client.receive_message(
            QueueUrl=self.queue_url(queue),
            MaxNumberOfMessages=max(1, min(max_messages, MAX_BATCH)),
            WaitTimeSeconds=max(0, min(int(wait), MAX_WAIT_SECONDS)),
            VisibilityTimeout=min(math.ceil(self.lease_seconds), MAX_VISIBILITY_SECONDS),
            AttributeNames=["ApproximateReceiveCount"],
        )
        messages = []
        for raw in response.get("Messages", []):
            message = self._message(queue, raw)
            not_before = (message.raw.get("decoded") or {}).get("not_before") if not message.error else None
            if not_before and not_before > time.time():
                # Delivered before the end of a long delay: send it on again for the rest.
                body = message.raw["decoded"]
                self._send_body(queue, body, not_before - time.time())
                self.ack(message)
                continue
            messages.append(message)
        return messages

    def ack(self, message: Message) -> bool:
        try:
            self.client.delete_message(QueueUrl=self.queue_url(message.queue), ReceiptHandle=message.receipt)
        except ClientError:
            return False
        return True

    def _hide(self, message: Message, seconds: float) -> None:
        self.client.change_message_visibility(
            QueueUrl=self.queue_url(message.queue),
            ReceiptHandle=message.receipt,
            VisibilityTimeout=min(math.ceil(max(seconds, 0)), MAX_VISIBILITY_SECONDS),
        )

    def retry(self, message: Message, *, delay: float = 0) -> None:
        self._hide(message, delay)

    def release(self, message: Message) -> None:
        # SQS cannot take a receive back: ApproximateReceiveCount keeps this delivery.
        self._hide(message, 0)

    def renew(self, messages: Sequence[Message], *, seconds: float) -> None:
        timeout = min(math.ceil(max(seconds, 0)), MAX_VISIBILITY_SECONDS)
        for queue in {message.queue for message in messages}:
            of_queue = [message for message in messages if message.queue == queue]
            for start in range(0, len(of_queue), MAX_BATCH):
                entries = [
                    {"Id": str(number), "ReceiptHandle": message.receipt, "VisibilityTimeout": timeout}
                    for number, message in enumerate(of_queue[start : start + MAX_BATCH])
                ]
                # A failed entry (a message deleted meanwhile) is answered in "Failed"; nothing to do about it.
                self.client.change_message_visibility_batch(QueueUrl=self.queue_url(queue), Entries=entries)

    def depth(self, *, queue: str = "default") -> QueueDepth:
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.queue_url(queue),
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return QueueDepth(
            queue=queue,
            ready=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )
