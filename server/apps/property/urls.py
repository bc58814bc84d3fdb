from django.urls import path

from server.apps.property import views
from server.apps.property.tabs import PROPERTIES_TAB

app_name = "property"
# The forms of the device page's tab (tabs.py), under its URL.
urlpatterns = [
    path(f"{PROPERTIES_TAB.route}add/", views.PropertyCreateView.as_view(), name="create"),
    path(f"{PROPERTIES_TAB.route}<int:property_id>/edit/", views.PropertyUpdateView.as_view(), name="edit"),
    path(f"{PROPERTIES_TAB.route}<int:property_id>/delete/", views.PropertyDeleteView.as_view(), name="delete"),
]
