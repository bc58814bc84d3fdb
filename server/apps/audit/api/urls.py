from server.apps.audit.api.views import AuditEntryViewSet
from server.apps.core.api.routers import ApiRouter

router = ApiRouter()
router.register("audit", AuditEntryViewSet, basename="audit")

urlpatterns = router.urls
