from server.apps.core.api.routers import ApiRouter
from server.apps.desiredstate.api.views import CurrentStateViewSet, DesiredStateViewSet

router = ApiRouter()
router.register("desiredstate", DesiredStateViewSet, basename="desiredstate")
router.register("currentstate", CurrentStateViewSet, basename="currentstate")

urlpatterns = router.urls
