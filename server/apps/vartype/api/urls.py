from server.apps.core.api.routers import ApiRouter
from server.apps.vartype.api.views import VarTypeViewSet

router = ApiRouter()
router.register("vartype", VarTypeViewSet, basename="vartype")

urlpatterns = router.urls
