from django.urls import path

from server.apps.report import views

app_name = "report"
GENERATED = "org/<slug:org_slug>/reports/generated/<str:generated_id>/"
urlpatterns = [
    path("org/<slug:org_slug>/reports/", views.OrgReportsView.as_view(), name="list"),
    path("org/<slug:org_slug>/reports/new/", views.ReportCreateView.as_view(), name="create"),
    path("org/<slug:org_slug>/reports/<str:report_id>/generate/", views.ReportGenerateView.as_view(), name="generate"),
    path(GENERATED, views.GeneratedReportView.as_view(), name="generated"),
    path(f"{GENERATED}progress.json", views.GeneratedProgressView.as_view(), name="progress"),
    path("org/<slug:org_slug>/project/<str:project_id>/export.csv", views.ProjectExportView.as_view(), name="export"),
]
