from django.urls import path

from server.apps.stores import views

app_name = "stores"
urlpatterns = [
    path("files/<str:token>/<str:name>", views.store_file_download, name="download"),
    path("uploads/<str:token>/<str:name>", views.store_file_upload, name="upload"),
]
