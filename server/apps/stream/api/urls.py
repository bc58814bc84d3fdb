from rest_framework.routers import SimpleRouter

from server.apps.stream.api.views import StreamViewSet, VariableViewSet

# "/?": the clients always add the slash, and a POST without it must not be redirected.
router = SimpleRouter(trailing_slash="/?")
router.register("variable", VariableViewSet, basename="variable")
router.register("stream", StreamViewSet, basename="stream")

urlpatterns = router.urls
