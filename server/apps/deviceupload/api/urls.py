from server.apps.core.api.routers import ApiRouter
from server.apps.deviceupload.api.views import DeviceUploadViewSet, UploadScheduleViewSet

router = ApiRouter()
router.register("upload", DeviceUploadViewSet, basename="upload")
router.register("uploadschedule", UploadScheduleViewSet, basename="uploadschedule")

urlpatterns = router.urls
