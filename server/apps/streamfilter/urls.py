from django.urls import path

from server.apps.streamfilter import views

app_name = "streamfilter"
PROJECT = "org/<slug:org_slug>/project/<str:project_id>/"
urlpatterns = [
    path(f"{PROJECT}filters/", views.ProjectFiltersView.as_view(), name="list"),
    path(f"{PROJECT}filters/new/", views.FilterCreateView.as_view(), name="create"),
    path(f"{PROJECT}filters/<int:filter_id>/", views.FilterDetailView.as_view(), name="detail"),
    path(f"{PROJECT}filters/<int:filter_id>/edit/", views.FilterUpdateView.as_view(), name="edit"),
    path(
        f"{PROJECT}alerts/<int:alert_id>/acknowledge/",
        views.AlertActionView.as_view(verb="acknowledge"),
        name="alert-acknowledge",
    ),
    path(f"{PROJECT}alerts/<int:alert_id>/clear/", views.AlertActionView.as_view(verb="clear"), name="alert-clear"),
]
