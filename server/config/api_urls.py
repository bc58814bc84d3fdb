"""Everything under /api/v1/: each app's API routes, plus the schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

API_APPS = [
    "authentication",
    "org",
    "project",
    "vartype",
    "devicetemplate",
    "sensorgraph",
    "device",
    "datablock",
    "stream",
    "streamalias",
    "streamdata",
    "deviceauth",
    "streamer",
    "streamevent",
    "property",
    "configattribute",
    "streamnote",
    "devicelocation",
    "operation",
    "search",
    "fleet",
    "ota",
    "main",
    "audit",
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    *[path("", include(f"server.apps.{app}.api.urls")) for app in API_APPS],
]
