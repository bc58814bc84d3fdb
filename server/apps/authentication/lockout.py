"""The login lockout, one count for the API's login endpoints and the dashboard's login form (docs/limits.md).

``LOGIN_FAILURE_LIMIT`` failed logins for one account (by e-mail) within ``LOGIN_FAILURE_WINDOW`` seconds, or
``LOGIN_ADDRESS_FAILURE_LIMIT`` from one client address, lock logins for ``LOGIN_LOCKOUT_SECONDS``: every attempt,
the right password included, is refused with :class:`RateLimitedError` (a 429 with ``Retry-After``) and is not
checked. A successful login clears the account's count. The counts live in the cache (Redis when configured), so
every web process shares them.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from server.apps.core.api.throttles import client_address
from server.apps.core.errors import RateLimitedError

LOCKED_MESSAGE = "Too many failed logins: logins are locked for a while. Try again later."


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _subjects(request: HttpRequest | None, email: str) -> list[tuple[str, int]]:
    """The counted subjects of an attempt with their failure limits: the account, and the client address."""
    subjects = [(f"account:{_digest(email.strip().lower())}", int(settings.LOGIN_FAILURE_LIMIT))]
    if request is not None:
        address = client_address(request)
        subjects.append((f"address:{_digest(address)}", int(settings.LOGIN_ADDRESS_FAILURE_LIMIT)))
    return subjects


def login_lockout_check(*, request: HttpRequest | None, email: str) -> None:
    """Raise :class:`RateLimitedError` while the account or the client address is locked."""
    now = time.time()
    locks = cache.get_many([f"login-lock:{subject}" for subject, _ in _subjects(request, email)])
    until = max((float(value) for value in locks.values()), default=0.0)
    if until > now:
        raise RateLimitedError(LOCKED_MESSAGE, retry_after=math.ceil(until - now))


def login_failure_record(*, request: HttpRequest | None, email: str) -> None:
    """Count a failed login; past a limit, lock that subject for ``LOGIN_LOCKOUT_SECONDS``."""
    window, lockout = int(settings.LOGIN_FAILURE_WINDOW), int(settings.LOGIN_LOCKOUT_SECONDS)
    for subject, limit in _subjects(request, email):
        key = f"login-failures:{subject}"
        if cache.add(key, 1, timeout=window):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # the window ended meanwhile
                cache.set(key, 1, timeout=window)
                count = 1
        if count >= limit:
            cache.set(f"login-lock:{subject}", time.time() + lockout, timeout=lockout)
            cache.delete(key)


def login_success_record(*, email: str) -> None:
    """A successful login clears the account's count (not the address's: one good login must not cover many bad
    ones tried from the same place)."""
    cache.delete(f"login-failures:account:{_digest(email.strip().lower())}")
