"""Site-wide middleware: request ids and the request log line, refused request text (all paths), security headers,
the dashboard's 503 page, and API answers freed as their requests end."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions
from rest_framework.response import Response

from server.apps.core import logs
from server.apps.core.errors import ServiceUnavailableError
from server.apps.core.inputs import bad_text_reason

logger = logging.getLogger(__name__)
request_logger = logging.getLogger("server.request")
# The attribute a view's response carries when its page may run inline scripts (allow_inline_scripts).
ALLOW_INLINE_SCRIPTS = "allow_inline_scripts"


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


def content_security_policy(*, map_tile_url: str = "") -> dict[str, list[str]]:
    """The pages' Content-Security-Policy: scripts only from our own static files (no inline script, no other
    host), styles ours plus inline ``style`` attributes, images ours and ``data:`` (plus the map tile server), no
    framing by anyone. Every page of the dashboard is held to it in every environment, so a browser test that meets
    a violation fails (tests/browser: a refused script is a console error)."""
    images = ["'self'", "data:"]
    if map_tile_url:
        parts = urlsplit(map_tile_url)
        images.append(f"{parts.scheme}://{parts.netloc}")
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def allow_inline_scripts(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let one page run inline scripts: the API's documentation pages, whose Swagger UI and ReDoc come with them.
    They show the schema and nothing a user wrote."""

    @wraps(view)
    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        # A mark for ContentSecurityPolicyMiddleware, which reads it with getattr.
        setattr(response, ALLOW_INLINE_SCRIPTS, True)
        return response

    return wrapped


class ContentSecurityPolicyMiddleware:
    """Sends ``CONTENT_SECURITY_POLICY`` (a dict of directives; empty sends nothing) on every answer that has no
    policy of its own."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        policy: dict[str, list[str]] = settings.CONTENT_SECURITY_POLICY
        self.header = self._header(policy)
        relaxed = {**policy, "script-src": [*policy.get("script-src", []), "'unsafe-inline'"]}
        self.relaxed_header = self._header(relaxed) if policy else ""

    @staticmethod
    def _header(policy: dict[str, list[str]]) -> str:
        return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())

    def __call__(self, request):
        response = self.get_response(request)
        if self.header and "Content-Security-Policy" not in response:
            relaxed = getattr(response, ALLOW_INLINE_SCRIPTS, False)
            response["Content-Security-Policy"] = self.relaxed_header if relaxed else self.header
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


class ApiNotFoundMiddleware:
    """A path under ``/api/`` that no route matches gets the API's JSON 404, as an object that is not there does: a
    route whose id is digits only does not match ``-1`` or a word, and a client must not get an HTML page for it,
    the dashboard's or, with ``DEBUG`` on (``inv run-local``), Django's debug page. It sits outside Django's
    ``CommonMiddleware``, so a path missing its slash is still redirected first; the API's own answers (a DRF
    ``Response``, JSON already) pass untouched, and the dashboard keeps its 404 page."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path_info.startswith("/api/")
            and not isinstance(response, Response)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return JsonResponse({"detail": exceptions.NotFound.default_detail}, status=404)
        return response


class ReleaseAnswerMiddleware:
    """Frees an API answer when its request ends rather than at the garbage collector's next full pass. DRF leaves
    each answer in reference cycles: the view keeps it (``view.response``) and it keeps the view and itself in its
    ``renderer_context``; the view and DRF's request keep each other (``parser_context``). Until a full collection,
    which may be hundreds of requests away, each answer's body stayed in memory: a 3.6 MB page of stream data grew a
    process by 6.8 MB a request, and every request wrote into fresh memory, faulted in page by page. Last in the
    chain, so the answer it sees is rendered (Django renders a template response before it leaves the view's
    middleware), and nothing after it reads these contexts."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        context = getattr(response, "renderer_context", None)
        if isinstance(context, dict):
            view = context.get("view")
            if getattr(view, "response", None) is response:
                view.response = None
            parser_context = getattr(context.get("request"), "parser_context", None)
            if isinstance(parser_context, dict):
                parser_context.clear()
            context.clear()
        return response
