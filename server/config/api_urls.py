"""Everything under /api/v1/: each app's API routes, plus the schema and its interactive docs."""

from django.urls import include, path, reverse_lazy
from django.utils.text import format_lazy
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from server.apps.core.middleware import allow_inline_scripts
from server.apps.telemetry.api.urls import telemetry_first
from server.config.api_schema import SchemaView

API_APPS = [
    # The reads of stream data are the API's most frequent requests: their routes are tried first (after a device's
    # telemetry post, telemetry_first), before some fifty others. No route before them in the old order matched a
    # path under data/, df/, stream/ or variable/, so the move changes no resolution.
    "streamdata",
    "stream",
    "authentication",
    "org",
    "project",
    "vartype",
    "devicetemplate",
    "sensorgraph",
    "device",
    "datablock",
    "streamalias",
    "deviceauth",
    "streamer",
    "streamevent",
    "property",
    "configattribute",
    "streamnote",
    "streamfilter",
    "devicelocation",
    "operation",
    "search",
    "fleet",
    "ota",
    "desiredstate",
    "deviceupload",
    "main",
    "audit",
    "telemetry",
    "forwarding",
    "report",
    "health",
]

# The docs pages load the schema as JSON: a browser parses the megabyte of it many times faster than the YAML default.
SCHEMA_JSON_URL = format_lazy("{}?format=json", reverse_lazy("api-schema"))

urlpatterns = [
    telemetry_first,
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", allow_inline_scripts(SpectacularSwaggerView.as_view(url=SCHEMA_JSON_URL)), name="api-docs"),
    path("redoc/", allow_inline_scripts(SpectacularRedocView.as_view(url=SCHEMA_JSON_URL)), name="api-redoc"),
    *[path("", include(f"server.apps.{app}.api.urls")) for app in API_APPS],
]
