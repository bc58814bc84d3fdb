from server.apps.core.api.routers import ApiRouter
from server.apps.device.api.views import DeviceViewSet

router = ApiRouter()
router.register("device", DeviceViewSet, basename="device")

urlpatterns = router.urls
