from server.apps.core.api.routers import ApiRouter
from server.apps.streamer.api.views import StreamerReportViewSet, StreamerViewSet

router = ApiRouter()
# Before streamer/: "report" would otherwise be read as a streamer slug.
router.register("streamer/report", StreamerReportViewSet, basename="streamerreport")
router.register("streamer", StreamerViewSet, basename="streamer")

urlpatterns = router.urls
