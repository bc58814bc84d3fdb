from django.urls import path

from server.apps.telemetry import views

app_name = "telemetry"
urlpatterns = [
    path("org/<slug:org_slug>/telemetry/raw/", views.RawMessageListView.as_view(), name="raw-list"),
]
