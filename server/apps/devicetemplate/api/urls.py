from server.apps.core.api.routers import ApiRouter
from server.apps.devicetemplate.api.views import DeviceTemplateViewSet

router = ApiRouter()
router.register("dt", DeviceTemplateViewSet, basename="devicetemplate")

urlpatterns = router.urls
