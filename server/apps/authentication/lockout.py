"""The login lockout, one count for the API's login endpoints and the dashboard's login form (docs/limits.md).

``LOGIN_FAILURE_LIMIT`` failed logins for one account (by e-mail) within ``LOGIN_FAILURE_WINDOW`` seconds lock
that account's logins for ``LOGIN_LOCKOUT_SECONDS``: every attempt, the right password included, is refused with
:class:`RateLimitedError` (a 429 with ``Retry-After``) and is not checked. A successful login clears the count. The
counts live in the cache (Redis when configured), so every web process shares them.

Attempts on many accounts from one address are bounded by the per-address login budgets instead (the API's
``login`` throttle, allauth's ``login`` rate limit), which recover within a minute: a lock of a whole address would
lock out everyone behind the same proxy or NAT.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from server.apps.core.errors import RateLimitedError

LOCKED_MESSAGE = "Too many failed logins: logins are locked for a while. Try again later."


def _account(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def login_lockout_check(*, email: str) -> None:
    """Raise :class:`RateLimitedError` while the account is locked."""
    until = float(cache.get(f"login-lock:{_account(email)}") or 0)
    now = time.time()
    if until > now:
        raise RateLimitedError(LOCKED_MESSAGE, retry_after=math.ceil(until - now))


def login_failure_record(*, email: str) -> None:
    """Count a failed login; at ``LOGIN_FAILURE_LIMIT``, lock the account for ``LOGIN_LOCKOUT_SECONDS``."""
    window, lockout = int(settings.LOGIN_FAILURE_WINDOW), int(settings.LOGIN_LOCKOUT_SECONDS)
    key = f"login-failures:{_account(email)}"
    if cache.add(key, 1, timeout=window):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # the window ended meanwhile
            cache.set(key, 1, timeout=window)
            count = 1
    if count >= int(settings.LOGIN_FAILURE_LIMIT):
        cache.set(f"login-lock:{_account(email)}", time.time() + lockout, timeout=lockout)
        cache.delete(key)


def login_success_record(*, email: str) -> None:
    """A successful login clears the account's count."""
    cache.delete(f"login-failures:{_account(email)}")
