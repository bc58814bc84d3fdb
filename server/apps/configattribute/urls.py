from django.urls import path

from server.apps.configattribute import views

app_name = "configattribute"
DEVICE = "org/<slug:org_slug>/device/<str:device_slug>/config/"
urlpatterns = [
    path(DEVICE, views.DeviceConfigView.as_view(), name="device"),
    path(f"{DEVICE}set/", views.ConfigAttributeSetView.as_view(), name="set"),
    path(f"{DEVICE}<int:attribute_id>/delete/", views.ConfigAttributeDeleteView.as_view(), name="delete"),
]
