from django.urls import path

from server.apps.forwarding import views

app_name = "forwarding"
DESTINATION = "org/<slug:org_slug>/destination/<int:destination_id>/"
urlpatterns = [
    path("org/<slug:org_slug>/destinations/", views.DestinationListView.as_view(), name="list"),
    path("org/<slug:org_slug>/destinations/new/", views.DestinationCreateView.as_view(), name="create"),
    path(DESTINATION, views.DestinationDetailView.as_view(), name="detail"),
    path(f"{DESTINATION}replay/", views.DestinationReplayView.as_view(), name="replay"),
]
