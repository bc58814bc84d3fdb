from server.apps.core.api.routers import ApiRouter
from server.apps.sensorgraph.api.views import SensorGraphViewSet

router = ApiRouter()
router.register("sg", SensorGraphViewSet, basename="sensorgraph")

urlpatterns = router.urls
