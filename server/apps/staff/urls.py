from django.urls import path

from server.apps.staff import views

app_name = "staff"
urlpatterns = [
    path("", views.StaffHomeView.as_view(), name="home"),
    path("worker/runs/", views.WorkerRunListView.as_view(), name="runs"),
    path("worker/dead-letters/", views.DeadLetterListView.as_view(), name="dead-letters"),
    path("worker/dead-letters/<int:pk>/requeue/", views.DeadLetterRequeueView.as_view(), name="dead-letter-requeue"),
    path("orgs/", views.OrgListView.as_view(), name="orgs"),
    path("devices/", views.DeviceListView.as_view(), name="devices"),
    path("devices/batch/", views.DeviceBatchCreateView.as_view(), name="device-batch"),
    path("devices/<str:device_slug>/keys/", views.DeviceKeysView.as_view(), name="device-keys"),
    path(
        "devices/<str:device_slug>/keys/<str:key_name>/<str:operation>/",
        views.DeviceKeyOperationView.as_view(),
        name="device-key-operation",
    ),
]
