from rest_framework.routers import SimpleRouter

from server.apps.streamdata.api.views import StreamDataViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("data", StreamDataViewSet, basename="streamdata")

urlpatterns = router.urls
