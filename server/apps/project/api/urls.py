from server.apps.core.api.routers import ApiRouter
from server.apps.project.api.views import ProjectViewSet, RetentionRunViewSet

router = ApiRouter()
router.register("project", ProjectViewSet, basename="project")
router.register("retention", RetentionRunViewSet, basename="retentionrun")

urlpatterns = router.urls
