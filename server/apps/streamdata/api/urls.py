from server.apps.core.api.routers import ApiRouter
from server.apps.streamdata.api.views import StreamDataViewSet

router = ApiRouter()
router.register("data", StreamDataViewSet, basename="streamdata")

urlpatterns = router.urls
