from django.urls import path, re_path

from server.apps.core.api.routers import ApiRouter
from server.apps.telemetry.api.views import (
    LogicalDeviceViewSet,
    MappingViewSet,
    PhysicalDeviceViewSet,
    RawMessageViewSet,
    TelemetryView,
    TtnIntegrationViewSet,
    TtnUplinkView,
)

router = ApiRouter()
router.register("rawmessage", RawMessageViewSet, basename="rawmessage")
router.register("pd", PhysicalDeviceViewSet, basename="physicaldevice")
router.register("ld", LogicalDeviceViewSet, basename="logicaldevice")
router.register("map", MappingViewSet, basename="devicemapping")
router.register("integration", TtnIntegrationViewSet, basename="ttnintegration")

# A device token is a JWT: three dot-separated parts, which no other route's path segment holds. So a device's post
# is matched before every other app's routes are tried (server/config/api_urls.py), the hot path's share of URL
# resolution; any other token is tried in the app's turn below, and answered 401.
telemetry_first = re_path(
    r"^(?P<token>[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/telemetry/?$",
    TelemetryView.as_view(),
    name="telemetry",
)

urlpatterns = [
    # ThingsBoard's path has no trailing slash; both are taken.
    re_path(r"^(?P<token>[A-Za-z0-9_.-]+)/telemetry/?$", TelemetryView.as_view(), name="telemetry-any-token"),
    path("ttn/<str:integration>/up/", TtnUplinkView.as_view(), name="ttn-uplink"),
    *router.urls,
]
