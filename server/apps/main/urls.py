from django.urls import path

from server.apps.main import views

app_name = "main"
urlpatterns = [
    path("", views.home, name="home"),
]
