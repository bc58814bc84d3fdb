from django.urls import path

from server.apps.device import views

app_name = "device"
urlpatterns = [
    path("org/<slug:org_slug>/device/<str:device_slug>/", views.DeviceDetailView.as_view(), name="detail"),
    path("org/<slug:org_slug>/device/<str:device_slug>/edit/", views.DeviceUpdateView.as_view(), name="edit"),
    path("org/<slug:org_slug>/device/<str:device_slug>/unclaim/", views.DeviceUnclaimView.as_view(), name="unclaim"),
    path("org/<slug:org_slug>/device/<str:device_slug>/reports/", views.DeviceReportsView.as_view(), name="reports"),
    path("org/<slug:org_slug>/device/<str:device_slug>/replace/", views.DeviceReplaceView.as_view(), name="replace"),
    path(
        "org/<slug:org_slug>/device/<str:device_slug>/key/<str:key_type>/",
        views.DeviceKeyDownloadView.as_view(),
        name="key-download",
    ),
]
