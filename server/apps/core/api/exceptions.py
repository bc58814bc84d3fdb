"""The one API error handler: domain errors and Django validation errors become 4xx JSON; an outage of a service
the platform relies on (a file store) becomes a 503 with ``Retry-After``, logged with its cause.

Unexpected exceptions are left alone, so they stay 500s and reach the logs.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from server.apps.core.errors import ApplicationError, ServiceUnavailableError

logger = logging.getLogger(__name__)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ApplicationError):
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return Response({"detail": exc.message, **exc.extra}, status=exc.status_code, headers=headers)
    if isinstance(exc, ServiceUnavailableError):
        # One line per refused request, with the cause: an outage must show in the logs without a traceback each.
        request = context.get("request")
        path = f"{request.method} {request.path}" if request is not None else "?"
        logger.warning("%s: 503, %s (%r)", path, exc, exc.__cause__)
        headers = {"Retry-After": str(exc.retry_after)}
        return Response({"detail": exc.message, **exc.extra}, status=exc.status_code, headers=headers)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response = exception_handler(exc, context)
        if response is not None:
            response.status_code = status.HTTP_401_UNAUTHORIZED
        return response
    return exception_handler(exc, context)
