"""Site-wide middleware: request ids and the request log line, refused request text (all paths), security headers,
and the dashboard's 503 page."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render

from server.apps.core import logs
from server.apps.core.errors import ServiceUnavailableError
from server.apps.core.inputs import bad_text_reason

logger = logging.getLogger(__name__)
request_logger = logging.getLogger("server.request")


def client_address(request) -> str:
    """The client's address: the one the nearest of ``NUM_PROXIES`` trusted proxies put in ``X-Forwarded-For``
    (each proxy appends the address it saw), else the socket's peer. Addresses a client wrote itself, further left,
    are never taken. DRF's throttles count clients the same way (``REST_FRAMEWORK["NUM_PROXIES"]``)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.NUM_PROXIES
    if proxies and forwarded:
        addresses = [address.strip() for address in forwarded.split(",")]
        return addresses[-min(proxies, len(addresses))]
    return str(request.META.get("REMOTE_ADDR", ""))


class RequestIdMiddleware:
    """Gives each request its request id and correlation id (``core/logs.py``) for every log line written while it
    runs, answers them in ``X-Request-ID`` and ``X-Correlation-ID``, and, with ``REQUEST_LOG`` on (production),
    writes one line per request: method, path, status, duration and client address. First in the chain, so even a
    redirect or a refused host carries the ids."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request_id = logs.clean_id(request.META.get("HTTP_X_REQUEST_ID")) or logs.new_id()
        correlation_id = logs.clean_id(request.META.get("HTTP_X_CORRELATION_ID")) or request_id
        request.request_id, request.correlation_id = request_id, correlation_id
        start = time.monotonic()
        with logs.log_context(request=request_id, correlation=correlation_id):
            response = self.get_response(request)
            if settings.REQUEST_LOG:
                request_logger.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.monotonic() - start) * 1000, 1),
                        "client": client_address(request),
                    },
                )
        response["X-Request-ID"] = request_id
        response["X-Correlation-ID"] = correlation_id
        return response


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
