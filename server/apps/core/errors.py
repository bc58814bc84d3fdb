"""The one family of domain errors. Services raise these; the API handler maps them to 4xx JSON."""

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
