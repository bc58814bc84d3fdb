"""The one family of domain errors. Services raise these; the API handler maps them to 4xx JSON. Beside them,
``ServiceUnavailableError``: a service the platform relies on is out, a 503."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Bad input or a state that forbids the operation: a 400 unless a subclass says otherwise."""

    status_code = 400

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    status_code = 404


class PermissionDeniedError(ApplicationError):
    status_code = 403


class ConflictError(ApplicationError):
    status_code = 409


class ServiceUnavailableError(ConnectionError):
    """A service the platform relies on (a file store, …) cannot be reached or used right now, so nothing was done
    and the same request may succeed later. Not a domain error: the API answers 503 with ``Retry-After``, and the
    worker retries it (it is a ``ConnectionError``)."""

    status_code = 503
    retry_after = 30  # seconds, a hint to clients

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class PayloadTooLargeError(ApplicationError):
    """A request body or an uploaded file beyond its limit: refused while it streams, before it is read whole."""

    status_code = 413


class RateLimitedError(ApplicationError):
    """Too many requests, or too many failed logins: a 429 with ``Retry-After`` (seconds)."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message, extra)
        self.retry_after = max(1, int(retry_after))
