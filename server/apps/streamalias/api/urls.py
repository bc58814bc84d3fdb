from server.apps.core.api.routers import ApiRouter
from server.apps.streamalias.api.views import StreamAliasTapViewSet, StreamAliasViewSet

router = ApiRouter()
router.register("alias", StreamAliasViewSet, basename="streamalias")
router.register("tap", StreamAliasTapViewSet, basename="streamaliastap")

urlpatterns = router.urls
