from rest_framework.routers import SimpleRouter

from server.apps.device.api.views import DeviceViewSet

# "/?": the clients always add the slash, and a POST without it must not be redirected.
router = SimpleRouter(trailing_slash="/?")
router.register("device", DeviceViewSet, basename="device")

urlpatterns = router.urls
