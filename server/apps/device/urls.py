from django.urls import path

from server.apps.device import views
from server.apps.device.tabs import DEVICE_ROUTE, device_tabs

app_name = "device"
urlpatterns = [
    path(DEVICE_ROUTE, views.DeviceDetailView.as_view(), name="detail"),
    path(f"{DEVICE_ROUTE}edit/", views.DeviceUpdateView.as_view(), name="edit"),
    path(f"{DEVICE_ROUTE}unclaim/", views.DeviceUnclaimView.as_view(), name="unclaim"),
    path(f"{DEVICE_ROUTE}reports/", views.DeviceReportsView.as_view(), name="reports"),
    path(f"{DEVICE_ROUTE}replace/", views.DeviceReplaceView.as_view(), name="replace"),
    path(f"{DEVICE_ROUTE}key/<str:key_type>/", views.DeviceKeyDownloadView.as_view(), name="key-download"),
    # The tabs the apps register (device/tabs.py), each at <name>/ and named device:<name>, all served by one view.
    *(path(tab.route, views.DeviceTabView.as_view(tab=tab), name=tab.name) for tab in device_tabs()),
]
