from django.urls import path

from server.apps.datablock import views

app_name = "datablock"
BLOCK = "org/<slug:org_slug>/datablock/<str:block_slug>/"
urlpatterns = [
    path("org/<slug:org_slug>/datablocks/", views.OrgDataBlockListView.as_view(), name="list"),
    path("org/<slug:org_slug>/device/<str:device_slug>/archive/", views.DataBlockCreateView.as_view(), name="create"),
    path(BLOCK, views.DataBlockDetailView.as_view(), name="detail"),
    path(f"{BLOCK}progress.json", views.DataBlockProgressView.as_view(), name="progress"),
    path(f"{BLOCK}delete/", views.DataBlockDeleteView.as_view(), name="delete"),
]
