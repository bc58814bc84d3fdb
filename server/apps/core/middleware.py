"""Dashboard middleware."""

from __future__ import annotations

import logging

from django.shortcuts import render

from server.apps.core.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)


class ServiceUnavailableMiddleware:
    """A dashboard page that meets a :class:`ServiceUnavailableError` (a file store down, …) answers a 503 page with
    ``Retry-After`` instead of a 500: nothing was done, and the same request may succeed later. The API answers the
    error itself (core/api/exceptions.py)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ServiceUnavailableError):
            return None
        logger.warning("%s %s: %s", request.method, request.path, exception.message)
        response = render(request, "503.html", {"message": exception.message}, status=503)
        response["Retry-After"] = str(exception.retry_after)
        return response
