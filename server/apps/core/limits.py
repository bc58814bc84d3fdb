"""Request size limits, enforced while the body streams (docs/security.md, "Limits and throttles").

- :class:`RequestLimitsMiddleware` refuses a body whose ``Content-Length`` is over its limit with a 413 before
  anything reads it (``UPLOAD_MAX_BODY_BYTES`` for multipart uploads, ``REQUEST_MAX_BODY_BYTES`` for any other body),
  and a chunked body without a length with a 411. It also answers the dashboard's 413 and 429 pages.
- :class:`FileSizeLimitUploadHandler`, first in ``FILE_UPLOAD_HANDLERS``, counts each uploaded file's bytes as the
  multipart parser streams them and stops the parse at ``UPLOAD_MAX_FILE_BYTES``: the file is never read whole.

nginx enforces the same body limit in front of gunicorn (``client_max_body_size``); these cover ``inv run-local``
and any deployment without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import render

from server.apps.core.errors import PayloadTooLargeError, RateLimitedError

DRAIN_CHUNK_BYTES = 64 * 1024


def _megabytes(size: int) -> str:
    """A limit as people write it: whole megabytes (MiB), or bytes."""
    megabyte = 1024 * 1024
    return f"{size // megabyte} MB" if size % megabyte == 0 else f"{size} bytes"


def _is_multipart(request: HttpRequest) -> bool:
    return str(request.META.get("CONTENT_TYPE", "")).lower().startswith("multipart/")


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def body_limit(request: HttpRequest) -> int:
    """The most bytes a body of this kind may have."""
    if _is_multipart(request):
        return int(settings.UPLOAD_MAX_BODY_BYTES)
    return int(settings.REQUEST_MAX_BODY_BYTES)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def refusal_response(
    request: HttpRequest, *, status: int, heading: str, message: str, retry_after: int | None = None
) -> HttpResponseBase:
    """The answer to a refused request: JSON ``{"detail": …}`` under ``/api/``, a page elsewhere."""
    response: HttpResponseBase
    if _is_api(request):
        response = JsonResponse({"detail": message}, status=status)
    else:
        context = {"heading": heading, "message": message, "status": status}
        response = render(request, "limit.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _drain(request: HttpRequest) -> None:
    """Read the refused body in small chunks and drop them, so the client reads the answer instead of a reset
    connection, and the development server does not read the rest in one piece after the response."""
    try:
        while request.read(DRAIN_CHUNK_BYTES):
            pass
    except OSError:  # the client gave up: nothing more to read
        pass


class RequestLimitsMiddleware:
    """Body size limits before the body is read, and the dashboard's answers to :class:`PayloadTooLargeError` and
    :class:`RateLimitedError` (the API answers those in its exception handler)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponseBase | None:
        length, limit = _content_length(request), body_limit(request)
        if length > limit:
            _drain(request)
            message = f"The request body ({length} bytes) is larger than the {_megabytes(limit)} allowed."
            return refusal_response(request, status=413, heading="Too large", message=message)
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not request.META.get("CONTENT_LENGTH"):
            message = "A request body needs a Content-Length header; chunked bodies are not accepted."
            return refusal_response(request, status=411, heading="Length required", message=message)
        return None

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        # A dashboard form's upload is parsed here, so a file over the limit is a 413 page rather than an error in
        # the CSRF check, which reads the form first. API views (CSRF-exempt) parse their own bodies.
        if request.method == "POST" and _is_multipart(request) and not getattr(view_func, "csrf_exempt", False):
            try:
                request.POST  # noqa: B018 (parses the body)
            except PayloadTooLargeError as exc:
                return self.process_exception(request, exc)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        if isinstance(exception, PayloadTooLargeError):
            return refusal_response(request, status=413, heading="Too large", message=exception.message)
        if isinstance(exception, RateLimitedError):
            return refusal_response(
                request,
                status=429,
                heading="Too many attempts",
                message=exception.message,
                retry_after=exception.retry_after,
            )
        return None


class FileSizeLimitUploadHandler(FileUploadHandler):
    """Stops a multipart parse as soon as one file passes ``UPLOAD_MAX_FILE_BYTES``; the handlers after it (memory
    or temporary file) never see the bytes beyond the limit."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        limit = int(settings.UPLOAD_MAX_FILE_BYTES)
        if start + len(raw_data) > limit:
            name = self.file_name or "the file"
            raise PayloadTooLargeError(
                f"{name}: larger than the {_megabytes(limit)} a file may have.",
                {"file": [f"Larger than {_megabytes(limit)}."]},
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


# allauth's rate limits do not say when their window ends; a minute is the shortest of them.
ALLAUTH_RETRY_AFTER = 60


def rate_limited_page(request: HttpRequest) -> HttpResponseBase:
    """The answer to allauth's own rate limits (``handler429`` in the root URL conf, which allauth looks up)."""
    message = "Too many attempts from here. Try again in a minute."
    return refusal_response(
        request, status=429, heading="Too many attempts", message=message, retry_after=ALLAUTH_RETRY_AFTER
    )
