from django.urls import re_path

from server.apps.main.api import views

urlpatterns = [
    re_path(r"^server/?$", views.ServerView.as_view(), name="server-info"),
]
