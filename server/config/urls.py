from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("server.config.api_urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("search/", include("server.apps.search.urls")),
    path("staff/", include("server.apps.staff.urls")),
    path("stores/", include("server.apps.stores.urls")),
    path("", include("server.apps.org.urls")),
    path("", include("server.apps.project.urls")),
    path("", include("server.apps.device.urls")),
    path("", include("server.apps.main.urls")),
    path("", include("server.apps.stream.urls")),
    path("", include("server.apps.property.urls")),
    path("", include("server.apps.configattribute.urls")),
    path("", include("server.apps.streamnote.urls")),
    path("", include("server.apps.streamfilter.urls")),
    path("", include("server.apps.devicelocation.urls")),
    path("", include("server.apps.operation.urls")),
    path("", include("server.apps.datablock.urls")),
    path("", include("server.apps.streamalias.urls")),
    path("", include("server.apps.fleet.urls")),
    path("", include("server.apps.ota.urls")),
    path("", include("server.apps.report.urls")),
    path("", include("server.apps.desiredstate.urls")),
    path("", include("server.apps.health.urls")),
    path("", include("server.apps.deviceupload.urls")),
    path("", include("server.apps.audit.urls")),
    path("", include("server.apps.forwarding.urls")),
    path("", include("server.apps.telemetry.urls")),
]

# allauth's own rate limits (sign-up, password reset, e-mail changes) answer with this page: a 429 with Retry-After.
handler429 = "server.apps.core.limits.rate_limited_page"
