"""Sending one outbox row to its destination: a webhook POST, or a file in a store.

Delivery is at least once: a sender that dies after the destination took a message, but before the row was marked
delivered, sends it again. Each message therefore carries its correlation id as an idempotency key
(``Idempotency-Key`` and ``X-Correlation-Id`` headers; a file's name), so the receiver can drop the repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING

import requests

from server.apps.core.outbound import OutboundRefusedError, outbound_post
from server.apps.stores.backends import StoreUnavailableError
from server.apps.stores.services import store_file_save

if TYPE_CHECKING:
    from server.apps.forwarding.models import Delivery, Destination

SIGNATURE_HEADER = "X-Signature-SHA256"
USER_AGENT = "iotile-platform-forwarding/1"


class DeliveryError(Exception):
    """The destination did not take the message; the row is retried with backoff, then dead-lettered. A ``final``
    error (an address the platform does not send to) is a dead letter at once: no retry would change it."""

    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


def message_body(delivery: Delivery) -> bytes:
    return json.dumps(delivery.message, separators=(",", ":"), sort_keys=True).encode()


def _webhook(destination: Destination, delivery: Delivery) -> None:
    body = message_body(delivery)
    correlation_id = str(delivery.correlation_id)
    headers = {
        **destination.headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": correlation_id,
        "X-Correlation-Id": correlation_id,
    }
    if destination.secret:
        digest = hmac.new(destination.secret.encode(), body, hashlib.sha256).hexdigest()
        headers[SIGNATURE_HEADER] = f"sha256={digest}"
    try:
        response = outbound_post(destination.url, data=body, headers=headers, timeout=destination.timeout)
    except OutboundRefusedError as exc:
        raise DeliveryError(exc.message, final=True) from exc
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if 300 <= response.status_code < 400:
        raise DeliveryError(f"HTTP {response.status_code}: redirects are not followed")
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")


def file_key(destination: Destination, delivery: Delivery) -> str:
    """``<prefix>/<correlation id>/<correlation id>.json``: a folder per message, as a DataBolt-style reader takes
    them in batches."""
    correlation_id = str(delivery.correlation_id)
    name = f"{correlation_id}/{correlation_id}.json"
    prefix = destination.prefix.strip("/")
    return f"{prefix}/{name}" if prefix else name


def _file(destination: Destination, delivery: Delivery) -> None:
    try:
        store_file_save(
            store=destination.store,
            key=file_key(destination, delivery),
            content=message_body(delivery),
            content_type="application/json",
        )
    except StoreUnavailableError as exc:
        raise DeliveryError(str(exc)) from exc


def deliver(destination: Destination, delivery: Delivery) -> None:
    """Hand ``delivery`` to ``destination``; :class:`DeliveryError` when it was not taken."""
    if destination.kind == "webhook":
        _webhook(destination, delivery)
    else:
        _file(destination, delivery)
