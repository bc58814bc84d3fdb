from server.apps.core.api.routers import ApiRouter
from server.apps.stream.api.views import StreamViewSet, VariableViewSet

router = ApiRouter()
router.register("variable", VariableViewSet, basename="variable")
router.register("stream", StreamViewSet, basename="stream")

urlpatterns = router.urls
