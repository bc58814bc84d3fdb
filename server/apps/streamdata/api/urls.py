from django.urls import re_path

from server.apps.core.api.routers import ApiRouter
from server.apps.streamdata.api.views import StreamDataFrameView, StreamDataViewSet

router = ApiRouter()
router.register("data", StreamDataViewSet, basename="streamdata")

urlpatterns = [
    *router.urls,
    re_path(r"^df/?$", StreamDataFrameView.as_view(), name="streamdata-frame"),
]
