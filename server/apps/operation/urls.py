from django.urls import path

from server.apps.operation import views
from server.apps.operation.tabs import OPERATIONS_TAB

app_name = "operation"
# The forms of the device page's tab (tabs.py), under its URL.
urlpatterns = [
    path(f"{OPERATIONS_TAB.route}command/", views.CommandCreateView.as_view(), name="command"),
    path(f"{OPERATIONS_TAB.route}<uuid:operation_id>/cancel/", views.OperationCancelView.as_view(), name="cancel"),
]
