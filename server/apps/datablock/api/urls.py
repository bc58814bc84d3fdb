from rest_framework.routers import SimpleRouter

from server.apps.datablock.api.views import DataBlockViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("datablock", DataBlockViewSet, basename="datablock")

urlpatterns = router.urls
