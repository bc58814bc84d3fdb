from server.apps.core.api.routers import ApiRouter
from server.apps.health.api.views import DeviceHealthViewSet

router = ApiRouter()
router.register("health", DeviceHealthViewSet, basename="health")

urlpatterns = router.urls
