from server.apps.core.api.routers import ApiRouter
from server.apps.streamnote.api.views import StreamNoteViewSet

router = ApiRouter()
router.register("note", StreamNoteViewSet, basename="note")

urlpatterns = router.urls
