"""Who makes a change: the request being served, read when an entry is written.

The middleware keeps the request in a context variable. The actor is read from it only when an entry is written, by
then DRF has authenticated the request and set ``request.user`` (a JWT or token user, or the user a device token
was issued by, with the device in ``user.token_scope``). Outside a request (the worker, a management command) an
entry has no actor.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

from server.apps.core.scoping import token_scope
from server.apps.deviceauth.tokens import DeviceScope

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


class AuditActorMiddleware:
    """Keeps the request for the entries written while it is served (after the authentication middleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


@dataclass(frozen=True)
class Actor:
    user: Any = None
    device_id: int | None = None
    remote_addr: str | None = None


def current_actor() -> Actor:
    """The user (and device, for a device token) of the request being served; an empty actor outside requests."""
    request = _request.get()
    if request is None:
        return Actor()
    user = getattr(request, "user", None)
    remote_addr = request.META.get("REMOTE_ADDR") or None
    if user is None or not user.is_authenticated:
        return Actor(remote_addr=remote_addr)
    scope = token_scope(user)
    device_id = scope.device_id if isinstance(scope, DeviceScope) else None
    return Actor(user=user, device_id=device_id, remote_addr=remote_addr)
