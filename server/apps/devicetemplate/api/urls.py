from rest_framework.routers import SimpleRouter

from server.apps.devicetemplate.api.views import DeviceTemplateViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("dt", DeviceTemplateViewSet, basename="devicetemplate")

urlpatterns = router.urls
