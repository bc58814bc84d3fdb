"""API throttles (docs/limits.md): per account, per device, per organisation and per client address, counted in the
cache (local memory, or Redis through django-redis when ``REDIS_URL`` is set, so every web process shares them).

Each is a fixed window: one ``incr`` of one cache key per request and per budget, so a busy budget costs what an
idle one does (DRF's own throttles keep every request's timestamp). A refused request is DRF's ``Throttled``: a 429
with ``Retry-After``, the seconds until the window ends. Rates are ``<count>/<s|m|h|d>`` in
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``; a rate of ``None`` switches that budget off.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: object) -> tuple[int, int] | None:
    """``"600/m"`` as (600 requests, 60 seconds); ``None`` for no limit."""
    if rate is None:
        return None
    count, _, period = str(rate).partition("/")
    return int(count), PERIODS[period.strip()[:1].lower()]


def window_hit(key: str, *, limit: int, period: int, now: float | None = None) -> int | None:
    """Count one request against ``key``'s current window. None when it is within ``limit``; otherwise the seconds
    until the window ends (at least 1)."""
    now = time.time() if now is None else now
    window = int(now // period)
    cache_key = f"throttle:{key}:{window}"
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window's first request (or a race with another's first)
        count = 1 if cache.add(cache_key, 1, timeout=period + 1) else cache.incr(cache_key)
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * period - now))


def client_address(request: HttpRequest) -> str:
    """The client's address as every budget counts it: behind ``NUM_PROXIES`` proxies, from X-Forwarded-For."""
    # DRF's rule, which reads only the request's META (a Django request's as well as a DRF one's).
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]


class WindowThrottle(BaseThrottle):
    """A budget of ``rate`` requests per window for each key :meth:`keys` names (none: not counted)."""

    scope = ""

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def keys(self, request: Any, view: Any) -> Iterable[str]:
        raise NotImplementedError

    def allow_request(self, request: Any, view: Any) -> bool:
        rate = parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(self.scope))
        if rate is None:
            return True
        limit, period = rate
        waits = [window_hit(f"{self.scope}:{key}", limit=limit, period=period) for key in self.keys(request, view)]
        refused = [wait for wait in waits if wait is not None]
        self.wait_seconds = max(refused) if refused else None
        return not refused

    def wait(self) -> float | None:
        return self.wait_seconds


def _device_scope(request: Any) -> Any:
    # Imported here: the device token module imports the API's viewsets, which DRF reads this module for.
    from server.apps.deviceauth.tokens import DeviceScope

    return request.auth if isinstance(request.auth, DeviceScope) else None


class AnonymousThrottle(WindowThrottle):
    """Requests without credentials, per client address (``NUM_PROXIES`` says how many proxies to look behind)."""

    scope = "anon"

    def keys(self, request: Any, view: Any) -> Iterable[str]:
        if request.user and request.user.is_authenticated:
            return []
        return [hashlib.sha256(client_address(request).encode()).hexdigest()[:32]]


class AccountThrottle(WindowThrottle):
    """Requests of one account (a device token counts for its device instead)."""

    scope = "user"

    def keys(self, request: Any, view: Any) -> Iterable[str]:
        if not (request.user and request.user.is_authenticated) or _device_scope(request) is not None:
            return []
        return [str(request.user.pk)]


class DeviceThrottle(WindowThrottle):
    """Requests made with one device's token (``a-jwt``)."""

    scope = "device"

    def keys(self, request: Any, view: Any) -> Iterable[str]:
        scope = _device_scope(request)
        return [str(scope.device_id)] if scope is not None else []


class OrgThrottle(WindowThrottle):
    """Requests counted against each organisation they act for: a device token's organisation, or every
    organisation of the account that sent a JWT (read with the account, in the same query)."""

    scope = "org"

    def keys(self, request: Any, view: Any) -> Iterable[str]:
        scope = _device_scope(request)
        if scope is not None:
            return [str(scope.org_id)]
        return [str(org_id) for org_id in getattr(request.user, "throttle_org_ids", None) or []]


class LoginThrottle(WindowThrottle):
    """Login attempts per client address, whatever account they name (the account lockout is
    ``authentication/lockout.py``)."""

    scope = "login"

    def keys(self, request: Any, view: Any) -> Iterable[str]:
        return [hashlib.sha256(client_address(request).encode()).hexdigest()[:32]]
