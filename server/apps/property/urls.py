from django.urls import path

from server.apps.property import views

app_name = "property"
DEVICE = "org/<slug:org_slug>/device/<str:device_slug>/properties/"
urlpatterns = [
    path(DEVICE, views.DevicePropertiesView.as_view(), name="device"),
    path(f"{DEVICE}add/", views.PropertyCreateView.as_view(), name="create"),
    path(f"{DEVICE}<int:property_id>/edit/", views.PropertyUpdateView.as_view(), name="edit"),
    path(f"{DEVICE}<int:property_id>/delete/", views.PropertyDeleteView.as_view(), name="delete"),
]
