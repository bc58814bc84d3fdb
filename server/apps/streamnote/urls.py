from django.urls import path

from server.apps.streamnote import views

app_name = "streamnote"
DEVICE = "org/<slug:org_slug>/device/<str:device_slug>/notes/"
urlpatterns = [
    path(DEVICE, views.DeviceNotesView.as_view(), name="device"),
    path(f"{DEVICE}add/", views.StreamNoteCreateView.as_view(), name="create"),
]
