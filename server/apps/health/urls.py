from django.urls import path

from server.apps.health import views
from server.apps.health.tabs import HEALTH_TAB

app_name = "health"
# The form of the device page's tab (tabs.py), under its URL.
urlpatterns = [
    path(f"{HEALTH_TAB.route}settings/", views.DeviceHealthUpdateView.as_view(), name="update"),
]
