from django.urls import path

from server.apps.configattribute import views
from server.apps.configattribute.tabs import CONFIG_TAB

app_name = "configattribute"
# The forms of the device page's tab (tabs.py), under its URL.
urlpatterns = [
    path(f"{CONFIG_TAB.route}set/", views.ConfigAttributeSetView.as_view(), name="set"),
    path(f"{CONFIG_TAB.route}<int:attribute_id>/delete/", views.ConfigAttributeDeleteView.as_view(), name="delete"),
]
