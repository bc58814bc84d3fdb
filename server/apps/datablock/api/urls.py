from server.apps.core.api.routers import ApiRouter
from server.apps.datablock.api.views import DataBlockViewSet

router = ApiRouter()
router.register("datablock", DataBlockViewSet, basename="datablock")

urlpatterns = router.urls
