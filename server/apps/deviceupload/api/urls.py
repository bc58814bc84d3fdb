from server.apps.core.api.routers import ApiRouter
from server.apps.deviceupload.api.views import DeviceUploadViewSet

router = ApiRouter()
router.register("upload", DeviceUploadViewSet, basename="upload")

urlpatterns = router.urls
