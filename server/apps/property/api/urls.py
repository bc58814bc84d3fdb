from server.apps.core.api.routers import ApiRouter
from server.apps.property.api.views import GenericPropertyViewSet, PropertyTemplateViewSet

router = ApiRouter()
router.register("property", GenericPropertyViewSet, basename="property")
router.register("propertytemplate", PropertyTemplateViewSet, basename="propertytemplate")

urlpatterns = router.urls
