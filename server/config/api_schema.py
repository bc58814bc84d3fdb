"""The OpenAPI schema, generated once per process and served from memory.

drf-spectacular builds the schema anew for every request, which takes seconds now that the API is large (longer on a
loaded machine, long enough for ReDoc to give up). The schema only changes with the code and the settings, so
``api_schema()`` builds it once per API version and language, and ``SchemaView`` answers ``/api/v1/schema/`` (JSON or
YAML, ``?format=``, ``?lang=``) with the document rendered once per format. A settings change (tests) empties both.

The schema is the same for every caller: it is built without a request (as ``manage.py spectacular`` builds it) and
published whole (``SERVE_PUBLIC``); a view configured to leave out what a user may not reach is built per request.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# A few versions and languages at most stay in memory; a request for another one builds it and pushes out the oldest.
KEPT = 4
_building = threading.Lock()
_RENDERERS: dict[str, type[BaseRenderer]] = {
    renderer.media_type: renderer for renderer in SpectacularAPIView.renderer_classes
}


@functools.lru_cache(maxsize=KEPT)
def _schema(version: str | None, language: str | None) -> dict[str, Any]:
    with translation.override(language):
        schema: dict[str, Any] = SchemaGenerator(api_version=version).get_schema(request=None, public=True)
    return schema


@functools.lru_cache(maxsize=2 * KEPT)
def _document(version: str | None, language: str | None, renderer: str, accepted_media_type: str) -> bytes:
    """The schema rendered by the view's renderer for ``renderer`` (its media type): JSON or YAML."""
    with translation.override(language):
        rendered = _RENDERERS[renderer]().render(_schema(version, language), accepted_media_type, {})
    return rendered if isinstance(rendered, bytes) else rendered.encode()


def api_schema(version: str | None = None, language: str | None = None) -> dict[str, Any]:
    """The published schema as a dict of its own (the caller may change it), for ``language`` (default: the active
    one)."""
    with _building:
        return copy.deepcopy(_schema(version, language or translation.get_language()))


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    _schema.cache_clear()
    _document.cache_clear()


class SchemaView(SpectacularAPIView):
    """``SpectacularAPIView`` on the default URL conf, answering from the documents above. Authentication,
    permissions and content negotiation run for every request as before; with ``serve_public`` off the schema
    depends on the user, so it is built per request."""

    def _get_schema_response(self, request: Request) -> HttpResponse:
        if not self.serve_public:
            response: HttpResponse = super()._get_schema_response(request)
            return response
        version = self.api_version or request.version or self._get_version_parameter(request)
        renderer = request.accepted_renderer
        with _building:
            body = _document(version, translation.get_language(), renderer.media_type, request.accepted_media_type)
        content_type = f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else renderer.media_type
        filename = self._get_filename(request, version)
        return HttpResponse(
            body, content_type=content_type, headers={"Content-Disposition": f'inline; filename="{filename}"'}
        )
