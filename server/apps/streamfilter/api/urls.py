from server.apps.core.api.routers import ApiRouter
from server.apps.streamfilter.api.views import StreamFilterAlertViewSet, StreamFilterViewSet

router = ApiRouter()
router.register("filter", StreamFilterViewSet, basename="streamfilter")
router.register("alert", StreamFilterAlertViewSet, basename="streamfilteralert")

urlpatterns = router.urls
