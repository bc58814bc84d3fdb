from django.urls import path

from server.apps.project import views

app_name = "project"
urlpatterns = [
    path("org/<slug:org_slug>/project/new/", views.ProjectCreateView.as_view(), name="create"),
    path("org/<slug:org_slug>/project/<str:project_id>/", views.ProjectDetailView.as_view(), name="detail"),
    path("org/<slug:org_slug>/project/<str:project_id>/edit/", views.ProjectUpdateView.as_view(), name="edit"),
    path(
        "org/<slug:org_slug>/project/<str:project_id>/retention/",
        views.ProjectRetentionView.as_view(),
        name="retention",
    ),
    path(
        "org/<slug:org_slug>/project/<str:project_id>/retention/run/",
        views.ProjectRetentionRunView.as_view(),
        name="retention-run",
    ),
    path("org/<slug:org_slug>/project/<str:project_id>/delete/", views.ProjectDeleteView.as_view(), name="delete"),
    path("org/<slug:org_slug>/project/<str:project_id>/claim/", views.DeviceClaimView.as_view(), name="claim"),
]
