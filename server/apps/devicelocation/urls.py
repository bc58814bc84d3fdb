from django.urls import path

from server.apps.devicelocation import views
from server.apps.devicelocation.tabs import LOCATIONS_TAB

app_name = "devicelocation"
# The forms of the device page's tab (tabs.py), under its URL.
urlpatterns = [
    path(f"{LOCATIONS_TAB.route}add/", views.DeviceLocationCreateView.as_view(), name="create"),
]
