"""Operations made through the services, and device clients that authenticate with the device's own token."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from server.apps.deviceauth.services import device_token_issue
from server.apps.operation.services.operations import operation_create, operation_request_clean


def make_operation(device: Any, *, kind: str = "command", payload: Any = None, transport: str = "http", **fields: Any):
    payload = payload if payload is not None else {"command": "get_app_status()"}
    request = operation_request_clean(kind=kind, payload=payload, transport=transport, **fields)
    return operation_create(user=device.org.created_by, device=device, request=request)


def device_client(device: Any) -> APIClient:
    """A client that speaks for ``device`` with its ``a-jwt`` token, as a device polling over HTTP does."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"a-jwt {device_token_issue(user=device.org.created_by, device=device)}")
    return client
