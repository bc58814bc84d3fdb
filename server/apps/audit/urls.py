from django.urls import path

from server.apps.audit import views

app_name = "audit"
urlpatterns = [
    path("org/<slug:org_slug>/audit/", views.OrgAuditView.as_view(), name="list"),
]
