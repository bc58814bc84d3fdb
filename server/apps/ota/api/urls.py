from server.apps.core.api.routers import ApiRouter
from server.apps.ota.api.views import (
    DeploymentActionViewSet,
    DeploymentRequestViewSet,
    DeviceScriptViewSet,
    DeviceVersionViewSet,
    OtaDeviceViewSet,
)

router = ApiRouter()
router.register("ota/script", DeviceScriptViewSet, basename="ota-script")
router.register("ota/request", DeploymentRequestViewSet, basename="ota-request")
router.register("ota/action", DeploymentActionViewSet, basename="ota-action")
router.register("ota/device", OtaDeviceViewSet, basename="ota-device")
router.register("ota/version", DeviceVersionViewSet, basename="ota-version")

urlpatterns = router.urls
