from django.urls import path

from server.apps.streamnote import views
from server.apps.streamnote.tabs import NOTES_TAB

app_name = "streamnote"
# The forms of the device page's tab (tabs.py), under its URL.
urlpatterns = [
    path(f"{NOTES_TAB.route}add/", views.StreamNoteCreateView.as_view(), name="create"),
]
