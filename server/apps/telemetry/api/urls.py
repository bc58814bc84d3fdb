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

urlpatterns = [
    # ThingsBoard's path has no trailing slash; both are taken.
    re_path(r"^(?P<token>[A-Za-z0-9_.-]+)/telemetry/?$", TelemetryView.as_view(), name="telemetry"),
    path("ttn/<str:integration>/up/", TtnUplinkView.as_view(), name="ttn-uplink"),
    *router.urls,
]
