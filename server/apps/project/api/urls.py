from server.apps.core.api.routers import ApiRouter
from server.apps.project.api.views import ProjectViewSet

router = ApiRouter()
router.register("project", ProjectViewSet, basename="project")

urlpatterns = router.urls
