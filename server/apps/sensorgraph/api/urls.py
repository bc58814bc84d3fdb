from rest_framework.routers import SimpleRouter

from server.apps.sensorgraph.api.views import SensorGraphViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("sg", SensorGraphViewSet, basename="sensorgraph")

urlpatterns = router.urls
