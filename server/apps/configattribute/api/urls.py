from server.apps.configattribute.api.views import ConfigAttributeNameViewSet, ConfigAttributeViewSet
from server.apps.core.api.routers import ApiRouter

router = ApiRouter()
router.register("config/name", ConfigAttributeNameViewSet, basename="config-name")
router.register("config/attr", ConfigAttributeViewSet, basename="config-attr")

urlpatterns = router.urls
