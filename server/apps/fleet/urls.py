from django.urls import path

from server.apps.fleet import views

app_name = "fleet"
FLEET = "org/<slug:org_slug>/fleet/<str:fleet_slug>/"
urlpatterns = [
    path("org/<slug:org_slug>/fleets/", views.OrgFleetListView.as_view(), name="list"),
    path("org/<slug:org_slug>/fleets/new/", views.FleetCreateView.as_view(), name="create"),
    path(FLEET, views.FleetDetailView.as_view(), name="detail"),
    path(f"{FLEET}register/", views.FleetRegisterView.as_view(), name="register"),
    path(f"{FLEET}deregister/", views.FleetDeregisterView.as_view(), name="deregister"),
]
