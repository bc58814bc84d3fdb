from server.apps.core.api.routers import ApiRouter
from server.apps.sensorgraph.api.views import SensorGraphViewSet, VariableTemplateViewSet

router = ApiRouter()
router.register("sg", SensorGraphViewSet, basename="sensorgraph")
router.register("vartemplate", VariableTemplateViewSet, basename="vartemplate")

urlpatterns = router.urls
