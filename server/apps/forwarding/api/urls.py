from server.apps.core.api.routers import ApiRouter
from server.apps.forwarding.api.views import DestinationViewSet

router = ApiRouter()
router.register("destination", DestinationViewSet, basename="destination")

urlpatterns = router.urls
