from server.apps.core.api.routers import ApiRouter
from server.apps.org.api.views import InvitationViewSet, OrgMemberViewSet, OrgViewSet

router = ApiRouter()
router.register("org", OrgViewSet, basename="org")
router.register(r"org/(?P<org_slug>[^/]+)/members", OrgMemberViewSet, basename="org-member")
router.register("invitation", InvitationViewSet, basename="invitation")

urlpatterns = router.urls
