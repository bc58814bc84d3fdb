"""Middleware: refused request text (all paths) and the dashboard's 503 page."""

from __future__ import annotations

import logging

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render

from server.apps.core.errors import ServiceUnavailableError
from server.apps.core.inputs import bad_text_reason

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


class BadTextMiddleware:
    """A path or query string holding a NUL character or a lone surrogate (``?name=%00``, ``org/%00/``) is a 400
    before any view or query sees it: PostgreSQL cannot store or compare such text (core/inputs.py)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        texts = [request.path_info, *request.GET.keys()]
        texts += [value for _, values in request.GET.lists() for value in values]
        for text in texts:
            reason = bad_text_reason(text)
            if reason is not None:
                logger.info("%s %r: 400, %s", request.method, request.path_info, reason)
                if request.path_info.startswith("/api/"):
                    return JsonResponse({"detail": reason}, status=400)
                return HttpResponseBadRequest(reason, content_type="text/plain")
        return self.get_response(request)
