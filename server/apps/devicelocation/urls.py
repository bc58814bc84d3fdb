from django.urls import path

from server.apps.devicelocation import views

app_name = "devicelocation"
DEVICE = "org/<slug:org_slug>/device/<str:device_slug>/locations/"
urlpatterns = [
    path(DEVICE, views.DeviceLocationsView.as_view(), name="device"),
    path(f"{DEVICE}add/", views.DeviceLocationCreateView.as_view(), name="create"),
]
