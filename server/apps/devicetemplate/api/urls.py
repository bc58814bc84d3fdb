from server.apps.core.api.routers import ApiRouter
from server.apps.devicetemplate.api.views import ComponentViewSet, DeviceTemplateViewSet

router = ApiRouter()
router.register("dt", DeviceTemplateViewSet, basename="devicetemplate")
router.register("component", ComponentViewSet, basename="component")

urlpatterns = router.urls
