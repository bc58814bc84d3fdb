from server.apps.core.api.routers import ApiRouter
from server.apps.operation.api.views import OperationViewSet

router = ApiRouter()
router.register("operation", OperationViewSet, basename="operation")

urlpatterns = router.urls
