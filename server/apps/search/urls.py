from django.urls import path

from server.apps.search import views

app_name = "search"
urlpatterns = [path("", views.search, name="results")]
