from server.apps.core.api.routers import ApiRouter
from server.apps.report.api.views import GeneratedUserReportViewSet, UserReportViewSet

router = ApiRouter()
# report/generated/ first: report/<id>/ takes only digits, but the order says which is meant.
router.register("report/generated", GeneratedUserReportViewSet, basename="report-generated")
router.register("report", UserReportViewSet, basename="report")

urlpatterns = router.urls
