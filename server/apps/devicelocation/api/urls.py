from server.apps.core.api.routers import ApiRouter
from server.apps.devicelocation.api.views import DeviceLocationViewSet

router = ApiRouter()
router.register("location", DeviceLocationViewSet, basename="location")

urlpatterns = router.urls
