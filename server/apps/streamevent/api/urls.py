from server.apps.core.api.routers import ApiRouter
from server.apps.streamevent.api.views import EventViewSet

router = ApiRouter()
router.register("event", EventViewSet, basename="event")

urlpatterns = router.urls
