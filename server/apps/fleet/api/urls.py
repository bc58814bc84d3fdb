from server.apps.core.api.routers import ApiRouter
from server.apps.fleet.api.views import FleetViewSet

router = ApiRouter()
router.register("fleet", FleetViewSet, basename="fleet")

urlpatterns = router.urls
