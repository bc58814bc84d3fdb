from rest_framework.routers import SimpleRouter

from server.apps.vartype.api.views import VarTypeViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("vartype", VarTypeViewSet, basename="vartype")

urlpatterns = router.urls
