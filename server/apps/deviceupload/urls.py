from django.urls import path

from server.apps.deviceupload import views
from server.apps.deviceupload.tabs import FILES_TAB

app_name = "deviceupload"
urlpatterns = [
    path(f"{FILES_TAB.route}request/", views.UploadRequestView.as_view(), name="request"),
    path(f"{FILES_TAB.route}<uuid:upload_id>/download/", views.UploadDownloadView.as_view(), name="download"),
    path(f"{FILES_TAB.route}schedule/", views.UploadScheduleCreateView.as_view(), name="schedule"),
    path(
        f"{FILES_TAB.route}schedule/<int:schedule_id>/delete/",
        views.UploadScheduleDeleteView.as_view(),
        name="schedule-delete",
    ),
]
