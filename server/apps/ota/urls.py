from django.urls import path

from server.apps.ota import views

app_name = "ota"
DEPLOYMENT = "org/<slug:org_slug>/deployment/<int:deployment_id>/"
urlpatterns = [
    path("org/<slug:org_slug>/updates/", views.OrgUpdatesView.as_view(), name="list"),
    path("org/<slug:org_slug>/updates/scripts/new/", views.ScriptUploadView.as_view(), name="script-create"),
    path(
        "org/<slug:org_slug>/updates/deployments/new/", views.DeploymentCreateView.as_view(), name="deployment-create"
    ),
    path(DEPLOYMENT, views.CampaignView.as_view(), name="campaign"),
    path(f"{DEPLOYMENT}status.json", views.CampaignStatusView.as_view(), name="campaign-status"),
    path(f"{DEPLOYMENT}cancel/", views.DeploymentCancelView.as_view(), name="cancel"),
]
