from django.urls import path

from server.apps.main import views

app_name = "main"
urlpatterns = [
    path("", views.home, name="home"),
    path("org/<slug:org_slug>/", views.org_detail, name="org-detail"),
]
